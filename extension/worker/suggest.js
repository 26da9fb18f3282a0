// A suggested reply, streamed to the asking port: over /ws (delta... done) when the server offers it, else one
// POST /api/suggest. The answer is the server's as is: its deadline, target_minutes and queue_item included.
import { api } from "./api.js";
import { errorOf } from "./errors.js";
import { cleanPost } from "./posts.js";
import { withPack } from "./packs.js";
import { settings } from "./settings.js";
import { request } from "./socket.js";

const SUGGEST_TIMEOUT_MS = 60000;

let viaSocket = true; // false once the server says it has no "suggest" over /ws
const running = new Map(); // port -> Set of cancel functions

export function resetSuggest() {
  viaSocket = true;
}

/** The request body: the post, the options (the agent's signature), and the pack only if the agent chose one. */
export async function suggestBody(post, options = {}) {
  const cfg = await settings();
  const body = { post: cleanPost(post), options: { ...options } };
  if (cfg.signature && !body.options.signature) body.options.signature = cfg.signature;
  return withPack(body);
}

/** Forget the requests of a port that went away. */
export function dropPort(port) {
  for (const cancel of running.get(port) || []) cancel();
  running.delete(port);
}

export async function suggest(port, reqId, { post, options = {} }) {
  const body = await suggestBody(post, options);
  const send = (msg) => {
    try {
      port.postMessage({ reqId, ...msg });
    } catch {
      // the page went away
    }
  };

  const viaRest = async () => {
    try {
      const answer = await api("/api/suggest", { method: "POST", body });
      send({ event: "delta", text: answer.reply });
      send({ event: "done", answer });
    } catch (err) {
      send({ event: "error", error: errorOf(err) });
    }
  };
  if (!viaSocket) return viaRest();

  let started = false;
  let cancel = null;
  const forget = () => {
    const set = running.get(port);
    if (set && cancel) set.delete(cancel);
  };
  try {
    cancel = await request({ type: "suggest", ...body }, {
      timeoutMs: SUGGEST_TIMEOUT_MS,
      onTimeout: () => {
        forget();
        send({ event: "error", error: { code: "timeout", message: "The server took too long to answer." } });
      },
      onLost: () => {
        forget();
        if (!started) viaRest();
        else send({ event: "error", error: { code: "connection_lost", message: "The connection to the server dropped; try again." } });
      },
      onMessage: (msg) => {
        if (msg.type === "error" && msg.error === "unknown_type") {
          // This server has no suggest over /ws: use REST from now on.
          viaSocket = false;
          forget();
          viaRest();
          return "done";
        }
        if (msg.type === "delta") {
          started = true;
          send({ event: "delta", text: msg.text });
          return "more";
        }
        if (msg.type === "done") {
          forget();
          const { type: _t, id: _i, ...answer } = msg;
          send({ event: "done", answer });
          return "done";
        }
        if (msg.type === "error") {
          forget();
          send({ event: "error", error: { code: msg.error, message: msg.message } });
          return "done";
        }
        return "more";
      },
    });
    if (!running.has(port)) running.set(port, new Set());
    running.get(port).add(cancel);
  } catch (err) {
    if (err.code === "not_paired") {
      send({ event: "error", error: { code: err.code, message: err.message } });
      return;
    }
    await viaRest();
  }
}
