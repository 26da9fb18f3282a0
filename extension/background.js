// Reply Desk's background service worker: the only part of the extension that talks to the local server.
// Content scripts, the popup and the options page reach it through runtime ports ("replydesk") with small
// request/response messages; suggestions stream over the server's /ws, queue events fan out to every port.
import { ext } from "./lib/ext.js";
import { loadSettings, saveSettings } from "./lib/settings.js";

const REQUEST_TIMEOUT_MS = 20000;
const SUGGEST_TIMEOUT_MS = 60000;
const PACK_TTL_MS = 60000;

const state = {
  settings: null,
  ws: null,
  wsReady: null, // Promise resolved when authenticated
  wsSuggest: true, // false once the server says it has no "suggest" over /ws
  wsSeq: 0,
  pending: new Map(), // ws request id -> {port, reqId, fallback, timer, started}
  queue: new Map(), // QueueItem id -> item
  queueKnown: false, // a queue snapshot arrived (the server has a queue)
  skewMs: 0, // server clock minus ours
  packs: new Map(), // name -> {at, value}
  ports: new Set(),
  status: { state: "unknown" },
};

class Failure extends Error {
  constructor(code, message, status = 0) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

const FIX_START = "Start it with: make run   (or: python -m server run)";
const FIX_PAIR = "Print the token with: python -m server token   then paste it in Reply Desk's options.";

async function settings() {
  if (!state.settings) state.settings = await loadSettings();
  return state.settings;
}

// ------------------------------------------------------------------ REST

async function api(path, { method = "GET", body, auth = true } = {}) {
  const cfg = await settings();
  if (auth && !cfg.token) throw new Failure("not_paired", `Reply Desk is not paired with the server. ${FIX_PAIR}`);
  const headers = { Accept: "application/json" };
  if (auth) headers.Authorization = `Bearer ${cfg.token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), REQUEST_TIMEOUT_MS);
  let resp;
  try {
    resp = await fetch(cfg.serverUrl + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: ctrl.signal,
      credentials: "omit",
      cache: "no-store",
    });
  } catch {
    setStatus({ state: "server_down" });
    throw new Failure("server_down", `The Reply Desk server is not running at ${cfg.serverUrl}. ${FIX_START}`);
  } finally {
    clearTimeout(timer);
  }
  let data = null;
  try {
    data = await resp.json();
  } catch {
    data = null;
  }
  if (resp.status === 401) {
    setStatus({ state: "not_paired" });
    throw new Failure("not_paired", `The server refused the pairing token. ${FIX_PAIR}`, 401);
  }
  if (!resp.ok) {
    const code = (data && data.error) || (resp.status === 404 ? "not_found" : "server_error");
    const message = (data && data.message) || `The server answered ${resp.status} to ${method} ${path}.`;
    throw new Failure(code, message, resp.status);
  }
  if (auth && state.status.state !== "ok") setStatus({ state: "ok" });
  return data;
}

// ------------------------------------------------------------------ status

function setStatus(next) {
  const cfg = state.settings || {};
  const messages = {
    ok: ["Connected", ""],
    server_down: [`Server not running at ${cfg.serverUrl || "?"}`, FIX_START],
    not_paired: ["Not paired with the server", FIX_PAIR],
    unknown: ["Checking…", ""],
  };
  const [message, fix] = messages[next.state] || [next.message || next.state, ""];
  const changed = state.status.state !== next.state;
  state.status = { message, fix, serverUrl: cfg.serverUrl, ...next };
  if (changed) broadcast({ event: "status", status: state.status });
  updateBadge();
}

async function checkStatus() {
  const cfg = await settings();
  try {
    const health = await api("/healthz", { auth: false });
    if (!cfg.token) {
      setStatus({ state: "not_paired", version: health.version });
      return state.status;
    }
    const packs = await api("/api/packs");
    setStatus({ state: "ok", version: health.version, packs: packs.packs, defaultPack: packs.default });
    ensureWs().catch(() => {});
  } catch (err) {
    if (!(err instanceof Failure)) setStatus({ state: "server_down" });
  }
  return state.status;
}

// ------------------------------------------------------------------ WebSocket

function closeWs() {
  if (state.ws) {
    try {
      state.ws.close();
    } catch {
      // already closed
    }
  }
  state.ws = null;
  state.wsReady = null;
}

function ensureWs() {
  if (state.wsReady) return state.wsReady;
  state.wsReady = (async () => {
    const cfg = await settings();
    if (!cfg.token) throw new Failure("not_paired", FIX_PAIR);
    const url = cfg.serverUrl.replace(/^http/, "ws") + "/ws";
    return new Promise((resolve, reject) => {
      let ws;
      try {
        ws = new WebSocket(url);
      } catch {
        reject(new Failure("server_down", FIX_START));
        return;
      }
      state.ws = ws;
      let authed = false;
      const timer = setTimeout(() => {
        if (!authed) {
          reject(new Failure("server_down", "The server did not answer on /ws."));
          ws.close();
        }
      }, 8000);
      ws.onopen = () => ws.send(JSON.stringify({ type: "auth", token: cfg.token }));
      ws.onmessage = (ev) => {
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
            resolve(ws);
          } else if (msg.type === "error" && msg.error === "unauthorized") {
            clearTimeout(timer);
            setStatus({ state: "not_paired" });
            reject(new Failure("not_paired", FIX_PAIR));
            return;
          }
        }
        onWsMessage(msg);
      };
      ws.onerror = () => {};
      ws.onclose = () => {
        clearTimeout(timer);
        if (state.ws === ws) {
          state.ws = null;
          state.wsReady = null;
        }
        if (!authed) reject(new Failure("server_down", `No WebSocket at ${url}. ${FIX_START}`));
        for (const [id, p] of state.pending) {
          state.pending.delete(id);
          clearTimeout(p.timer);
          if (!p.started) p.fallback();
          else p.port.postMessage({ reqId: p.reqId, event: "error", error: { code: "connection_lost", message: "The connection to the server dropped; try again." } });
        }
      };
    });
  })();
  state.wsReady.catch(() => {
    state.wsReady = null;
  });
  return state.wsReady;
}

function onWsMessage(msg) {
  if (msg.id !== undefined && state.pending.has(String(msg.id))) {
    const p = state.pending.get(String(msg.id));
    if (msg.type === "error" && msg.error === "unknown_type") {
      // This server has no suggest over /ws: use REST from now on.
      state.wsSuggest = false;
      state.pending.delete(String(msg.id));
      clearTimeout(p.timer);
      p.fallback();
      return;
    }
    if (msg.type === "delta") {
      p.started = true;
      p.port.postMessage({ reqId: p.reqId, event: "delta", text: msg.text });
    } else if (msg.type === "done") {
      state.pending.delete(String(msg.id));
      clearTimeout(p.timer);
      const { type: _t, id: _i, ...answer } = msg;
      p.port.postMessage({ reqId: p.reqId, event: "done", answer });
    } else if (msg.type === "error") {
      state.pending.delete(String(msg.id));
      clearTimeout(p.timer);
      p.port.postMessage({ reqId: p.reqId, event: "error", error: { code: msg.error, message: msg.message } });
    }
    return;
  }
  if (msg.type === "queue") {
    state.queueKnown = true;
    if (msg.server_time) state.skewMs = Date.parse(msg.server_time) - Date.now();
    if (Array.isArray(msg.items)) {
      state.queue = new Map(msg.items.map((it) => [String(it.id), it]));
    } else if (msg.change === "upsert" && msg.item) {
      state.queue.set(String(msg.item.id), msg.item);
    } else if (msg.change === "remove") {
      state.queue.delete(String(msg.id));
    }
    publishQueue();
  } else if ((msg.type === "due_soon" || msg.type === "overdue") && msg.item) {
    state.queue.set(String(msg.item.id), msg.item);
    publishQueue();
  }
}

// ------------------------------------------------------------------ queue

const ACTIVE = new Set(["waiting", "due_soon", "overdue", "snoozed"]);

function queueItems() {
  return [...state.queue.values()]
    .filter((it) => ACTIVE.has(it.state))
    .sort((a, b) => Date.parse(a.deadline) - Date.parse(b.deadline));
}

function publishQueue() {
  broadcast({ event: "queue", items: queueItems(), skewMs: state.skewMs });
  updateBadge();
}

function updateBadge() {
  if (!ext.action) return;
  const items = queueItems().filter((it) => it.state !== "snoozed");
  const text = state.status.state === "ok" || state.status.state === "unknown" ? (items.length ? String(items.length) : "") : "!";
  const overdue = items.some((it) => it.state === "overdue" || Date.parse(it.deadline) < Date.now() + state.skewMs);
  const color = text === "!" ? "#6b7280" : overdue ? "#dc2626" : items.some((it) => it.state === "due_soon") ? "#d97706" : "#4f46e5";
  ext.action.setBadgeText({ text }).catch?.(() => {});
  ext.action.setBadgeBackgroundColor({ color }).catch?.(() => {});
}

function findItem(post) {
  for (const it of state.queue.values()) {
    if (it.platform === post.platform && String(it.post_id) === String(post.post_id)) return it;
  }
  return null;
}

async function track(post) {
  try {
    const item = await api("/api/queue", { method: "POST", body: { post } });
    if (item && item.id !== undefined) {
      state.queue.set(String(item.id), item);
      publishQueue();
    }
    return { item, skewMs: state.skewMs };
  } catch (err) {
    if (err.status === 404 || err.status === 405) return { item: null, unavailable: true };
    throw err;
  }
}

async function replied(post, id) {
  let itemId = id;
  if (itemId === undefined || itemId === null) {
    const known = findItem(post);
    itemId = known ? known.id : (await track(post)).item?.id;
  }
  if (itemId === undefined || itemId === null) return { item: null, unavailable: true };
  try {
    const item = await api(`/api/queue/${encodeURIComponent(itemId)}/replied`, { method: "POST", body: {} });
    if (item && item.id !== undefined) state.queue.set(String(item.id), item);
    else state.queue.delete(String(itemId));
    publishQueue();
    return { item };
  } catch (err) {
    if (err.status === 404 || err.status === 405) return { item: null, unavailable: true };
    throw err;
  }
}

async function refreshQueue() {
  try {
    const data = await api("/api/queue");
    state.queueKnown = true;
    state.queue = new Map((data.items || []).map((it) => [String(it.id), it]));
    publishQueue();
  } catch {
    // no queue on this server yet, or not reachable: keep what we have
  }
  return { items: queueItems(), skewMs: state.skewMs, known: state.queueKnown };
}

// ------------------------------------------------------------------ packs

async function packInfo(name) {
  const cfg = await settings();
  const key = name || cfg.pack || "";
  const cached = state.packs.get(key);
  if (cached && Date.now() - cached.at < PACK_TTL_MS) return cached.value;
  const raw = await api(`/api/packs/${encodeURIComponent(key || "default")}`);
  const data = raw.data || {};
  const meta = data.pack || {};
  const value = {
    name: meta.name || raw.name || key,
    version: meta.version || raw.version,
    brand: meta.brand || null,
    handles: meta.handles || { x: [], facebook: [] },
    channels: data.channels || {},
    sla: data.sla || {},
    signature: data.signature || {},
  };
  state.packs.set(key, { at: Date.now(), value });
  return value;
}

// ------------------------------------------------------------------ suggest

async function suggest(port, reqId, { post, options = {} }) {
  const cfg = await settings();
  const body = { post, options: { ...options } };
  if (cfg.pack) body.pack = cfg.pack;
  if (cfg.signature && !body.options.signature) body.options.signature = cfg.signature;

  const viaRest = async () => {
    try {
      const answer = await api("/api/suggest", { method: "POST", body });
      port.postMessage({ reqId, event: "delta", text: answer.reply });
      port.postMessage({ reqId, event: "done", answer });
    } catch (err) {
      port.postMessage({ reqId, event: "error", error: { code: err.code || "error", message: err.message } });
    }
  };
  if (!state.wsSuggest) return viaRest();
  try {
    const ws = await ensureWs();
    const id = `s${++state.wsSeq}`;
    const entry = { port, reqId, fallback: viaRest, started: false };
    entry.timer = setTimeout(() => {
      state.pending.delete(id);
      port.postMessage({ reqId, event: "error", error: { code: "timeout", message: "The server took too long to answer." } });
    }, SUGGEST_TIMEOUT_MS);
    state.pending.set(id, entry);
    ws.send(JSON.stringify({ type: "suggest", id, ...body }));
  } catch (err) {
    if (err.code === "not_paired") {
      port.postMessage({ reqId, event: "error", error: { code: err.code, message: err.message } });
      return;
    }
    await viaRest();
  }
}

// ------------------------------------------------------------------ messaging

function broadcast(msg) {
  for (const port of state.ports) {
    try {
      port.postMessage(msg);
    } catch {
      state.ports.delete(port);
    }
  }
}

const handlers = {
  status: () => checkStatus(),
  settings: async () => {
    const cfg = await settings();
    return { ...cfg, token: cfg.token ? "set" : "" };
  },
  pack: ({ name }) => packInfo(name),
  packs: () => api("/api/packs"),
  tone: async ({ text, platform, post }) => {
    const cfg = await settings();
    const body = { text, platform };
    if (post) body.post = post;
    if (cfg.pack) body.pack = cfg.pack;
    return api("/api/tone", { method: "POST", body });
  },
  track: ({ post }) => track(post),
  replied: ({ post, id }) => replied(post, id),
  queue: () => refreshQueue(),
  openTab: ({ url }) => ext.tabs.create({ url }).then(() => true),
  // One-click pairing (server/pairing.py): ask, show the code, and poll until someone approves it on the machine.
  pairAsk: () => api("/api/pair", { method: "POST", body: { client: browserName() }, auth: false }),
  pairPoll: async ({ id }) => {
    const result = await api(`/api/pair/${encodeURIComponent(id)}`, { auth: false });
    if (result.token) {
      await saveSettings({ token: result.token });
      return { state: result.state };
    }
    return result;
  },
};

function browserName() {
  const ua = (globalThis.navigator && navigator.userAgent) || "";
  const name = /Firefox\//.test(ua) ? "Firefox" : /Edg\//.test(ua) ? "Edge" : "Chromium";
  return `${name} extension`;
}

ext.runtime.onConnect.addListener((port) => {
  if (port.name !== "replydesk") return;
  state.ports.add(port);
  port.onDisconnect.addListener(() => {
    state.ports.delete(port);
    for (const [id, p] of state.pending) {
      if (p.port === port) {
        clearTimeout(p.timer);
        state.pending.delete(id);
      }
    }
  });
  port.onMessage.addListener(async (msg) => {
    const { reqId, type } = msg || {};
    if (type === "suggest") {
      suggest(port, reqId, msg);
      return;
    }
    const handler = handlers[type];
    try {
      if (!handler) throw new Failure("unknown_request", `Unknown request '${type}'.`);
      const result = await handler(msg);
      port.postMessage({ reqId, ok: true, result });
    } catch (err) {
      try {
        port.postMessage({ reqId, ok: false, error: { code: err.code || "error", message: err.message, status: err.status } });
      } catch {
        // the page went away
      }
    }
  });
});

ext.storage.onChanged.addListener((changes, area) => {
  if (area !== "local") return;
  state.settings = null;
  state.packs.clear();
  state.wsSuggest = true;
  state.queue.clear();
  state.queueKnown = false;
  closeWs();
  checkStatus();
});

if (ext.commands) {
  ext.commands.onCommand.addListener(async (command) => {
    if (command !== "suggest-reply") return;
    const [tab] = await ext.tabs.query({ active: true, currentWindow: true });
    if (tab && tab.id !== undefined) ext.tabs.sendMessage(tab.id, { type: "open-focused" }).catch(() => {});
  });
}

ext.runtime.onInstalled.addListener(async (details) => {
  const cfg = await settings();
  if (details.reason === "install" && !cfg.token) ext.runtime.openOptionsPage().catch?.(() => {});
});

checkStatus();
