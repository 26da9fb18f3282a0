// The queue as the server last told it (snapshot and changes over /ws, or GET /api/queue), the server's clock
// offset, tracking a post and closing its clock, and the toolbar badge.
import { ext } from "../lib/ext.js";
import { api, unavailable } from "./api.js";
import { broadcast } from "./ports.js";
import { currentStatus } from "./status.js";

const ACTIVE = new Set(["waiting", "due_soon", "overdue", "snoozed"]);

let items = new Map(); // QueueItem id -> item
let known = false; // a queue snapshot arrived (the server has a queue)
let skewMs = 0; // server clock minus ours
let me = null; // this agent's name on the server, as a claim of ours names it (team servers)

// Kept in storage.session too, so a worker that wakes up again still knows whose claims are ours.
const session = ext.storage && ext.storage.session;
if (session) session.get("me").then((got) => (me = me || (got && got.me) || null), () => {});

export function resetQueue() {
  items.clear();
  known = false;
  me = null;
  if (session) session.remove("me").catch?.(() => {});
}

/** Who we are on the server: a claim the server granted us names us as its holder. */
export function setMe(name) {
  if (name && name !== me) {
    me = name;
    if (session) session.set({ me: name }).catch?.(() => {});
    publish();
  }
}

export function skew() {
  return skewMs;
}

/** Open items in the queue's priority order: the server's `priority` (severity and urgency) first, then the
 * soonest deadline (an item without one last). */
export function queueItems() {
  const rank = (it) => (typeof it.priority === "number" ? it.priority : 0);
  const due = (it) => (it.deadline ? Date.parse(it.deadline) : Infinity);
  return [...items.values()]
    .filter((it) => ACTIVE.has(it.state))
    .sort((a, b) => rank(b) - rank(a) || due(a) - due(b) || String(a.id).localeCompare(String(b.id)));
}

/** Tell every port the queue as it is now; `changed` is the item that just changed, closed ones included (the
 * list holds open items only, and a reply panel must hear that another agent replied to its post). */
function publish(changed = null) {
  broadcast({ event: "queue", items: queueItems(), skewMs, me, changed });
  updateBadge();
}

/** A queue event from /ws: a snapshot, one upsert or removal, or a due_soon / overdue notice. */
export function applyQueueEvent(msg) {
  if (msg.type === "hello" && msg.agent && msg.agent.name) {
    // The server names the agent this token signs in as: our own claims are then never "someone else's".
    setMe(msg.agent.name);
    return true;
  }
  if (msg.type === "queue") {
    known = true;
    if (msg.server_time) skewMs = Date.parse(msg.server_time) - Date.now();
    let changed = null;
    if (Array.isArray(msg.items)) {
      items = new Map(msg.items.map((it) => [String(it.id), it]));
    } else if (msg.change === "upsert" && msg.item) {
      items.set(String(msg.item.id), msg.item);
      changed = msg.item;
    } else if (msg.change === "remove") {
      items.delete(String(msg.id));
    } else if (msg.item && msg.item.id !== undefined) {
      // Any other change that carries the item (claimed, released, escalated): the item as it is now.
      items.set(String(msg.item.id), msg.item);
      changed = msg.item;
    }
    publish(changed);
    return true;
  }
  if ((msg.type === "due_soon" || msg.type === "overdue") && msg.item) {
    items.set(String(msg.item.id), msg.item);
    publish(msg.item);
    return true;
  }
  return false;
}

/** The badge: open posts (red when one is overdue, amber when one is due soon), "!" when not connected. */
export function updateBadge() {
  if (!ext.action) return;
  const open = queueItems().filter((it) => it.state !== "snoozed");
  const state = currentStatus().state;
  const text = state === "ok" || state === "unknown" ? (open.length ? String(open.length) : "") : "!";
  const overdue = open.some((it) => it.state === "overdue" || Date.parse(it.deadline) < Date.now() + skewMs);
  const color = text === "!" ? "#6b7280" : overdue ? "#dc2626" : open.some((it) => it.state === "due_soon") ? "#d97706" : "#4f46e5";
  ext.action.setBadgeText({ text }).catch?.(() => {});
  ext.action.setBadgeBackgroundColor({ color }).catch?.(() => {});
}

function findItem(post) {
  for (const it of items.values()) {
    if (it.platform === post.platform && String(it.post_id) === String(post.post_id)) return it;
  }
  return null;
}

/** Remember an item the server handed over (e.g. the suggest answer's queue_item). */
export function noteItem(item) {
  if (item && item.id !== undefined) {
    items.set(String(item.id), item);
    publish(item);
  }
}

export async function track(post) {
  try {
    const item = await api("/api/queue", { method: "POST", body: { post } });
    noteItem(item);
    return { item, skewMs, me };
  } catch (err) {
    if (unavailable(err)) return { item: null, unavailable: true };
    throw err;
  }
}

export async function replied(post, id) {
  let itemId = id;
  if (itemId === undefined || itemId === null) {
    const found = findItem(post);
    itemId = found ? found.id : (await track(post)).item?.id;
  }
  if (itemId === undefined || itemId === null) return { item: null, unavailable: true };
  try {
    const item = await api(`/api/queue/${encodeURIComponent(itemId)}/replied`, { method: "POST", body: {} });
    if (item && item.id !== undefined) items.set(String(item.id), item);
    else items.delete(String(itemId));
    publish();
    return { item };
  } catch (err) {
    if (unavailable(err)) return { item: null, unavailable: true };
    throw err;
  }
}

export async function refreshQueue() {
  try {
    const data = await api("/api/queue");
    known = true;
    items = new Map((data.items || []).map((it) => [String(it.id), it]));
    publish();
  } catch {
    // no queue on this server yet, or not reachable: keep what we have
  }
  return { items: queueItems(), skewMs, known, me };
}
