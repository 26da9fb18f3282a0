// The server's /ws: authenticate with the token, route answers to the suggest request that asked, and hand
// queue events to the queue. One connection at a time, opened on demand.
import { FIX_PAIR, FIX_START, Failure } from "./errors.js";
import { applyQueueEvent } from "./queue.js";
import { settings } from "./settings.js";
import { setStatus } from "./status.js";

const AUTH_TIMEOUT_MS = 8000;

let ws = null;
let ready = null; // Promise of the authenticated socket
let seq = 0;
// ws request id -> {onMessage(msg), onLost(), timer}: what to do with the answers to one request.
const pending = new Map();

export function closeWs() {
  if (ws) {
    try {
      ws.close();
    } catch {
      // already closed
    }
  }
  ws = null;
  ready = null;
}

/** The authenticated socket (opening it if needed). Rejects with Failure (server_down / not_paired). */
export function ensureWs() {
  if (ready) return ready;
  ready = (async () => {
    const cfg = await settings();
    if (!cfg.token) throw new Failure("not_paired", FIX_PAIR);
    const url = cfg.serverUrl.replace(/^http/, "ws") + "/ws";
    return new Promise((resolve, reject) => {
      let sock;
      try {
        sock = new WebSocket(url);
      } catch {
        reject(new Failure("server_down", FIX_START));
        return;
      }
      ws = sock;
      let authed = false;
      const timer = setTimeout(() => {
        if (!authed) {
          reject(new Failure("server_down", "The server did not answer on /ws."));
          sock.close();
        }
      }, AUTH_TIMEOUT_MS);
      sock.onopen = () => sock.send(JSON.stringify({ type: "auth", token: cfg.token }));
      sock.onmessage = (ev) => {
        let msg;
        try {
          msg = JSON.parse(ev.data);
        } catch {
          return;
        }
        if (!authed) {
          if (msg.type === "hello") {
            authed = true;
            clearTimeout(timer);
            resolve(sock);
          } else if (msg.type === "error" && msg.error === "unauthorized") {
            clearTimeout(timer);
            setStatus({ state: "not_paired" });
            reject(new Failure("not_paired", FIX_PAIR));
            return;
          }
        }
        onMessage(msg);
      };
      sock.onerror = () => {};
      sock.onclose = () => {
        clearTimeout(timer);
        if (ws === sock) {
          ws = null;
          ready = null;
        }
        if (!authed) reject(new Failure("server_down", `No WebSocket at ${url}. ${FIX_START}`));
        for (const [id, p] of pending) {
          pending.delete(id);
          clearTimeout(p.timer);
          p.onLost();
        }
      };
    });
  })();
  ready.catch(() => {
    ready = null;
  });
  return ready;
}

function onMessage(msg) {
  const id = msg.id === undefined ? null : String(msg.id);
  if (id !== null && pending.has(id)) {
    const p = pending.get(id);
    if (p.onMessage(msg) === "done") {
      pending.delete(id);
      clearTimeout(p.timer);
    }
    return;
  }
  applyQueueEvent(msg);
}

/**
 * Send one request that the server answers with events carrying its id. `onMessage(msg)` returns "done" when the
 * request is finished; `onLost()` runs if the socket drops first; `onTimeout()` after `timeoutMs`. Returns a
 * function that forgets the request (its later events are dropped).
 */
export async function request(body, { onMessage: handle, onLost, onTimeout, timeoutMs }) {
  const sock = await ensureWs();
  const id = `s${++seq}`;
  const entry = { onMessage: handle, onLost };
  entry.timer = setTimeout(() => {
    pending.delete(id);
    onTimeout();
  }, timeoutMs);
  pending.set(id, entry);
  sock.send(JSON.stringify({ ...body, id }));
  return () => {
    clearTimeout(entry.timer);
    pending.delete(id);
  };
}
