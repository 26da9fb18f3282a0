// One-click pairing (server/web/pairing.py): ask for a code, show it, and poll until someone approves it on the
// machine; the token is handed over once and saved to the settings.
import { saveSettings } from "../lib/settings.js";
import { api } from "./api.js";

export function browserName() {
  const ua = (globalThis.navigator && navigator.userAgent) || "";
  const name = /Firefox\//.test(ua) ? "Firefox" : /Edg\//.test(ua) ? "Edge" : "Chromium";
  return `${name} extension`;
}

export function pairAsk() {
  return api("/api/pair", { method: "POST", body: { client: browserName() }, auth: false });
}

export async function pairPoll(id) {
  const result = await api(`/api/pair/${encodeURIComponent(id)}`, { auth: false });
  if (result.token) {
    await saveSettings({ token: result.token });
    return { state: result.state };
  }
  return result;
}
