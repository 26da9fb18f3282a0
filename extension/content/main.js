// Reply Desk's content script: finds posts with the site's adapter, adds a "Suggest reply" control to each,
// opens the reply panel (button or Alt+Shift+R on the post in focus), and on the brand's own pages tracks every
// customer post addressed to the brand that scrolls into view, so the queue shows what is waiting.
import { ext } from "../lib/ext.js";
import { loadSettings } from "../lib/settings.js";
import { rootFor as siteRoot, sitePage } from "../sites/index.js";
import { call, onBroadcast } from "./bridge.js";
import { addControl, setControlState } from "./control.js";
import { currentPanel, markControl, openPanel } from "./panel.js";
import { pageShape, skeleton } from "./skeleton.js";

const state = {
  site: null,
  adapters: [],
  settings: null,
  pack: null,
  tracked: new Set(),
  owner: new WeakMap(), // post element -> its adapter
  observer: null,
  scanTimer: null,
  health: { found: 0, read: 0, unreadable: 0, brand: 0 },
  queue: new Map(), // "platform:post_id" -> the queue's state for it
};

/** Which site this page is (the platform of the adapter that serves it, or "demo" for Reply Desk's own page). */
export function siteOf(loc) {
  const page = sitePage(loc);
  return page ? page.site : null;
}

const key = (post) => `${post.platform}:${post.post_id}`;

/** Where an adapter looks: the whole page, or on the demo page its own site's section. */
function rootFor(adapter) {
  return siteRoot(state.site, adapter);
}

function handlesFor(platform) {
  const handles = (state.pack && state.pack.handles && state.pack.handles[platform]) || [];
  return handles;
}

function open(adapter, el, anchor) {
  const post = adapter.readPost(el);
  if (!post) return;
  if (anchor) anchor.setAttribute("aria-expanded", "true");
  state.tracked.add(key(post));
  // Opening a post does not change its state: an overdue post stays overdue. A post the queue does not know yet
  // shows "waiting" until the queue's answer says otherwise.
  const host = el.querySelector("replydesk-control");
  if (!state.queue.has(key(post)) && host && !host.hasAttribute("data-state")) markControl(el, "waiting");
  openPanel({ adapter, el, post, pack: state.pack, anchor });
}

/** Is the post the brand's own (a post or a reply in a thread by one of the pack's handles)? */
function isBrandPost(adapter, post) {
  return adapter.isBrand(post, handlesFor(post.platform));
}

/** The health line: every unit the adapters saw, how many they read, how many they could not; the brand's own. */
function publishHealth(health) {
  state.health = health;
  document.documentElement.setAttribute("data-replydesk-health", JSON.stringify(health));
}

function scan() {
  state.scanTimer = null;
  const health = { found: 0, read: 0, unreadable: 0, brand: 0 };
  for (const adapter of state.adapters) {
    for (const el of adapter.findPosts(rootFor(adapter))) {
      health.found += 1;
      const post = adapter.readPost(el);
      if (!post) {
        health.unreadable += 1;
        continue;
      }
      health.read += 1;
      const existing = el.querySelector("replydesk-control");
      if (isBrandPost(adapter, post)) {
        health.brand += 1; // no control on the brand's own posts and replies
        if (existing) existing.remove();
        continue;
      }
      if (existing) continue;
      state.owner.set(el, adapter);
      const host = addControl(adapter, el, (button) => open(adapter, el, button));
      host.setAttribute("data-post-key", key(post));
      const known = state.queue.get(key(post));
      if (known) setControlState(host, known);
      else if (state.tracked.has(key(post))) setControlState(host, "waiting");
      state.visibility.observe(el);
    }
  }
  publishHealth(health);
}

/** The queue's state for a post, from one item (overdue once its deadline has passed on the server's clock). */
function itemState(item, skewMs) {
  if (!item) return null;
  const active = ["waiting", "due_soon", "overdue"].includes(item.state);
  if (active && Date.parse(item.deadline) < Date.now() + (skewMs || 0)) return "overdue";
  return item.state;
}

/** Dots follow the queue: every queue event (snapshot, change, due soon, overdue) restates every control. */
function applyQueue(items, skewMs) {
  const next = new Map();
  for (const it of items || []) next.set(`${it.platform}:${it.post_id}`, itemState(it, skewMs));
  for (const [k, was] of state.queue) {
    if (!next.has(k) && was !== "replied" && was !== "dismissed") next.set(k, "closed"); // left the open queue
  }
  state.queue = next;
  for (const host of document.querySelectorAll("replydesk-control[data-post-key]")) {
    const st = next.get(host.getAttribute("data-post-key"));
    if (st && !(st === "closed" && host.getAttribute("data-state") === "replied")) setControlState(host, st);
  }
}

function scheduleScan() {
  if (!state.scanTimer) state.scanTimer = setTimeout(scan, 150);
}

/** Monitoring: is this customer post, now on screen, one the brand must answer? */
function shouldTrack(adapter, el, post) {
  const site = state.site === "demo" ? "demo" : adapter.platform;
  if (!state.settings || !state.settings.monitor[site] || !state.pack) return false;
  const handles = handlesFor(post.platform);
  if (!handles.length) return false;
  if (state.site !== "demo" && !adapter.monitoredPage(location, handles)) return false;
  if (adapter.isBrand(post, handles)) return false;
  if (!adapter.addressedTo(post, handles, location)) return false;
  return !adapter.answeredByBrand(el, handles);
}

async function onVisible(entries) {
  for (const entry of entries) {
    if (!entry.isIntersecting) continue;
    const el = entry.target;
    const adapter = state.owner.get(el);
    if (!adapter) continue;
    const post = adapter.readPost(el);
    if (!post || state.tracked.has(key(post)) || !shouldTrack(adapter, el, post)) continue;
    state.tracked.add(key(post));
    try {
      const res = await call("track", { post });
      if (res && res.item) markControl(el, itemState(res.item, res.skewMs) || "waiting");
    } catch {
      state.tracked.delete(key(post)); // server not reachable: try again when it scrolls back into view
    }
  }
}

/** The post the agent is on: the focused one, else the one nearest the middle of the screen. */
function focusedPost() {
  const active = document.activeElement;
  for (const adapter of state.adapters) {
    const posts = adapter.findPosts(rootFor(adapter));
    const hit = active && posts.find((el) => el === active || el.contains(active));
    if (hit) return [adapter, hit];
  }
  const middle = window.innerHeight / 2;
  let best = null;
  for (const adapter of state.adapters) {
    for (const el of adapter.findPosts(rootFor(adapter))) {
      const r = el.getBoundingClientRect();
      if (r.bottom < 0 || r.top > window.innerHeight || !adapter.readPost(el)) continue;
      const d = Math.abs((r.top + r.bottom) / 2 - middle);
      if (!best || d < best[2]) best = [adapter, el, d];
    }
  }
  return best ? [best[0], best[1]] : null;
}

function openFocused() {
  const found = focusedPost();
  if (!found) return;
  const [adapter, el] = found;
  const host = el.querySelector("replydesk-control");
  open(adapter, el, host && host.shadowRoot.querySelector("button"));
}

async function loadPack() {
  try {
    state.pack = await call("pack", {});
  } catch {
    state.pack = null;
  }
}

/** What the popup asks the page: its health line, or a report (the page's anonymised skeleton). */
/** The queue view's commands: open one post's panel (by its id), insert the open panel's reply. */
function onQueueCommand(msg, reply) {
  if (msg.type === "open-post") {
    for (const adapter of state.adapters) {
      for (const el of adapter.findPosts(rootFor(adapter))) {
        const post = adapter.readPost(el);
        if (!post || String(post.post_id) !== String(msg.post_id)) continue;
        el.scrollIntoView({ block: "center" });
        const host = el.querySelector("replydesk-control");
        open(adapter, el, host && host.shadowRoot.querySelector("button"));
        reply({ opened: true });
        return;
      }
    }
    reply({ opened: false });
    return;
  }
  const panel = currentPanel();
  if (panel) panel.insert();
  reply({ inserted: Boolean(panel) });
}

function onPageMessage(msg, sender, reply) {
  if (msg && (msg.type === "open-post" || msg.type === "insert-current")) {
    onQueueCommand(msg, reply);
    return false;
  }
  if (!msg || (msg.type !== "health" && msg.type !== "report")) return false;
  const health = { site: state.site, ...state.health };
  if (msg.type === "health") {
    reply(health);
    return false;
  }
  const { tree, nodes, truncated } = skeleton(document.body);
  reply({
    kind: "replydesk-page-report",
    version: 1,
    site: state.site,
    page: pageShape(location),
    created_at: new Date().toISOString(),
    health,
    nodes,
    truncated,
    skeleton: tree,
  });
  return false;
}

function configureAdapters() {
  const mode = (state.settings && state.settings.adapters) || {};
  let inForce = null;
  for (const adapter of state.adapters) if (adapter.configure) inForce = adapter.configure(mode);
  if (inForce) {
    const names = Object.entries(inForce).filter(([, on]) => on).map(([k]) => k);
    document.documentElement.setAttribute("data-replydesk-reading", names.join(" "));
  }
}

export async function start() {
  if (window.__replydeskStarted) return;
  window.__replydeskStarted = true;
  const page = sitePage(location);
  if (!page) return;
  state.site = page.site;
  state.adapters = page.adapters;
  state.settings = await loadSettings();
  configureAdapters();
  state.visibility = new IntersectionObserver(onVisible, { threshold: 0.6 });
  await loadPack();
  scan();
  state.observer = new MutationObserver(scheduleScan);
  state.observer.observe(document.body || document.documentElement, { childList: true, subtree: true });
  document.addEventListener("keydown", (ev) => {
    if (ev.altKey && ev.shiftKey && ev.code === "KeyR") {
      ev.preventDefault();
      openFocused();
    }
  }, true);
  ext.runtime.onMessage.addListener((msg, sender, reply) => {
    if (msg && msg.type === "open-focused") openFocused();
    return onPageMessage(msg, sender, reply);
  });
  ext.storage.onChanged.addListener(async (changes, area) => {
    if (area !== "local") return;
    state.settings = await loadSettings();
    configureAdapters();
    await loadPack();
    scheduleScan();
  });
  onBroadcast((msg) => {
    if (msg.event === "status" && msg.status.state === "ok" && !state.pack) loadPack().then(scheduleScan);
    if (msg.event === "disconnected") setTimeout(() => loadPack().then(scheduleScan), 500);
    if (msg.event === "queue") applyQueue(msg.items, msg.skewMs);
  });
  call("queue").then((q) => applyQueue(q.items, q.skewMs)).catch(() => {});
  // Which site and adapters this page got from sites/index.js (for the agent's devtools and the tests).
  document.documentElement.setAttribute("data-replydesk-site", state.site);
  document.documentElement.setAttribute("data-replydesk-adapters", state.adapters.map((a) => a.platform).join(" "));
  document.documentElement.setAttribute("data-replydesk", "ready");
}
