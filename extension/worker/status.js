// The connection status the popup, options page and badge show: ok, server_down, not_paired or unknown.
import { FIX_PAIR, FIX_START } from "./errors.js";
import { broadcast } from "./ports.js";
import { settingsNow } from "./settings.js";

let status = { state: "unknown" };
const watchers = new Set();

export function currentStatus() {
  return status;
}

/** Called with the status after every change of it (the badge follows it). */
export function onStatusChange(fn) {
  watchers.add(fn);
  return () => watchers.delete(fn);
}

export function setStatus(next) {
  const cfg = settingsNow() || {};
  const messages = {
    ok: ["Connected", ""],
    server_down: [`Server not running at ${cfg.serverUrl || "?"}`, FIX_START],
    not_paired: ["Not paired with the server", FIX_PAIR],
    unknown: ["Checking…", ""],
  };
  const [message, fix] = messages[next.state] || [next.message || next.state, ""];
  const changed = status.state !== next.state;
  status = { message, fix, serverUrl: cfg.serverUrl, ...next };
  if (changed) broadcast({ event: "status", status });
  for (const fn of watchers) fn(status);
}
