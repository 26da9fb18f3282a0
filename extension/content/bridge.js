// The content script's line to the background service worker (the only part that talks to the server).
import { ext } from "../lib/ext.js";

let port = null;
let seq = 0;
const pending = new Map(); // reqId -> {resolve, reject, onEvent, timer}
const listeners = new Set();

function connect() {
  if (port) return port;
  port = ext.runtime.connect({ name: "replydesk" });
  port.onMessage.addListener((msg) => {
    if (msg && msg.reqId !== undefined && pending.has(msg.reqId)) {
      const p = pending.get(msg.reqId);
      if (msg.event) {
        p.onEvent(msg);
        if (msg.event === "done" || msg.event === "error") finish(msg.reqId);
        return;
      }
      finish(msg.reqId);
      if (msg.ok) p.resolve(msg.result);
      else p.reject(Object.assign(new Error(msg.error?.message || "Request failed"), msg.error || {}));
      return;
    }
    if (msg && msg.event) for (const fn of listeners) fn(msg);
  });
  port.onDisconnect.addListener(() => {
    port = null;
    // The service worker restarted (or the extension was updated): fail what was in flight, reconnect lazily.
    for (const [id, p] of pending) {
      finish(id);
      const error = { code: "extension_restarted", message: "Reply Desk restarted; try again." };
      if (p.onEvent) p.onEvent({ event: "error", error });
      else p.reject(Object.assign(new Error(error.message), error));
    }
    for (const fn of listeners) fn({ event: "disconnected" });
  });
  return port;
}

function finish(reqId) {
  const p = pending.get(reqId);
  if (p) clearTimeout(p.timer);
  pending.delete(reqId);
}

/** One request, one answer. Rejects with {code, message} when the server or the extension cannot answer. */
export function call(type, payload = {}, timeoutMs = 30000) {
  return new Promise((resolve, reject) => {
    const reqId = ++seq;
    const timer = setTimeout(() => {
      pending.delete(reqId);
      reject(Object.assign(new Error("Reply Desk did not answer in time."), { code: "timeout" }));
    }, timeoutMs);
    pending.set(reqId, { resolve, reject, timer });
    try {
      connect().postMessage({ ...payload, type, reqId });
    } catch (err) {
      finish(reqId);
      reject(Object.assign(new Error("Reply Desk is not available; reload the page."), { code: "extension_gone" }));
    }
  });
}

/** A streamed request (suggest): `onEvent` gets {event: "delta"|"done"|"error", ...}. Returns a cancel function. */
export function stream(type, payload, onEvent) {
  const reqId = ++seq;
  pending.set(reqId, { onEvent, timer: null });
  try {
    connect().postMessage({ ...payload, type, reqId });
  } catch {
    finish(reqId);
    onEvent({ event: "error", error: { code: "extension_gone", message: "Reply Desk is not available; reload the page." } });
  }
  return () => finish(reqId);
}

/** Events the background broadcasts (queue, status). Stops when `signal` aborts, or when the returned function runs. */
export function onBroadcast(fn, { signal } = {}) {
  const off = () => listeners.delete(fn);
  if (signal && signal.aborted) return off;
  listeners.add(fn);
  if (signal) signal.addEventListener("abort", off, { once: true });
  connect();
  return off;
}
