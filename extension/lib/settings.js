// The extension's settings (docs/DESIGN.md): kept in storage.local so tests and managed installs can set them directly.
import { ext } from "./ext.js";

export const DEFAULTS = Object.freeze({
  serverUrl: "http://127.0.0.1:8765",
  token: "",
  signature: "",
  pack: "",
  // A plain http:// address that is not this machine is refused unless the agent allows it (team servers sit
  // behind TLS; the token and the customers' posts should not cross a network in clear).
  allowPlainHttp: false,
  // Watch the brand's notifications / mentions / search (X) and page (Facebook), and the /demo page.
  monitor: { x: true, facebook: true, demo: true },
  // How the site adapters read pages: the site's own selectors (fast) and the structural fallback. Both on; the
  // tests turn the fast path off to prove the fallback alone reads every saved page.
  adapters: { fast: true, structural: true },
});

/** Settings with defaults filled in; `monitor` is merged key by key so new sites default to on. */
export async function loadSettings() {
  const stored = await ext.storage.local.get(null);
  const out = { ...DEFAULTS, ...stored };
  out.monitor = { ...DEFAULTS.monitor, ...(stored.monitor || {}) };
  out.adapters = { ...DEFAULTS.adapters, ...(stored.adapters || {}) };
  out.serverUrl = normaliseServerUrl(out.serverUrl) || DEFAULTS.serverUrl;
  return out;
}

export async function saveSettings(changes) {
  const clean = { ...changes };
  if ("serverUrl" in clean) clean.serverUrl = normaliseServerUrl(clean.serverUrl) || DEFAULTS.serverUrl;
  if ("token" in clean) clean.token = String(clean.token || "").trim();
  if ("signature" in clean) clean.signature = String(clean.signature || "").trim().slice(0, 40);
  await ext.storage.local.set(clean);
}

const LOOPBACK = /^(127(\.\d{1,3}){3}|localhost|\[::1\])$/i;

/** Is this server address this machine (127.x, localhost, [::1])? */
export function isLoopback(url) {
  try {
    return LOOPBACK.test(new URL(url).hostname);
  } catch {
    return false;
  }
}

/** Why this (normalised) address may not be used, or "" when it may: plain HTTP to another machine needs the
 * agent's "allow plain HTTP". */
export function addressProblem(url, allowPlainHttp) {
  if (!url) return "That is not a server address: use one like https://desk.example.com or http://127.0.0.1:8765.";
  if (url.startsWith("http://") && !isLoopback(url) && !allowPlainHttp) {
    return `${url} is plain HTTP to another machine: the token and the customers' posts would cross the network `
      + "unencrypted. Use the team server's https:// address, or tick \"Allow plain HTTP\" if this network is private.";
  }
  return "";
}

/** "127.0.0.1:8765/" -> "http://127.0.0.1:8765"; null when it is not an http(s) URL. */
export function normaliseServerUrl(value) {
  let text = String(value || "").trim();
  if (!text) return null;
  if (!/^https?:\/\//i.test(text)) text = `http://${text}`;
  try {
    const u = new URL(text);
    if (u.protocol !== "http:" && u.protocol !== "https:") return null;
    return `${u.protocol}//${u.host}`;
  } catch {
    return null;
  }
}
