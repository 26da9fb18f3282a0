// The extension's settings (docs/DESIGN.md): kept in storage.local so tests and managed installs can set them directly.
import { ext } from "./ext.js";

export const DEFAULTS = Object.freeze({
  serverUrl: "http://127.0.0.1:8765",
  token: "",
  signature: "",
  pack: "",
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
