// Reply Desk's content script: finds posts with the site's adapter, adds a "Suggest reply" control to each,
// opens the reply panel (button or Alt+Shift+R on the post in focus), and on the brand's own pages tracks every
// customer post addressed to the brand that scrolls into view, so the queue shows what is waiting.
import { ext } from "../lib/ext.js";
import { loadSettings } from "../lib/settings.js";
import { rootFor as siteRoot, sitePage } from "../sites/index.js";
import { call, onBroadcast } from "./bridge.js";
import { addControl } from "./control.js";
import { markControl, openPanel } from "./panel.js";

const state = {
  site: null,
  adapters: [],
  settings: null,
  pack: null,
  tracked: new Set(),
  owner: new WeakMap(), // post element -> its adapter
  observer: null,
  scanTimer: null,
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
  markControl(el, "waiting");
  openPanel({ adapter, el, post, pack: state.pack, anchor });
}

function scan() {
  state.scanTimer = null;
  for (const adapter of state.adapters) {
    for (const el of adapter.findPosts(rootFor(adapter))) {
      if (el.querySelector("replydesk-control")) continue;
      const post = adapter.readPost(el);
      if (!post) continue;
      state.owner.set(el, adapter);
      const host = addControl(adapter, el, (button) => open(adapter, el, button));
      if (state.tracked.has(key(post))) host.setAttribute("data-state", "waiting");
      state.visibility.observe(el);
    }
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
      if (res && res.item) markControl(el, res.item.state || "waiting");
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

export async function start() {
  if (window.__replydeskStarted) return;
  window.__replydeskStarted = true;
  const page = sitePage(location);
  if (!page) return;
  state.site = page.site;
  state.adapters = page.adapters;
  state.settings = await loadSettings();
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
  ext.runtime.onMessage.addListener((msg) => {
    if (msg && msg.type === "open-focused") openFocused();
  });
  ext.storage.onChanged.addListener(async (changes, area) => {
    if (area !== "local") return;
    state.settings = await loadSettings();
    await loadPack();
  });
  onBroadcast((msg) => {
    if (msg.event === "status" && msg.status.state === "ok" && !state.pack) loadPack();
    if (msg.event === "disconnected") setTimeout(loadPack, 500);
  });
  // Which site and adapters this page got from sites/index.js (for the agent's devtools and the tests).
  document.documentElement.setAttribute("data-replydesk-site", state.site);
  document.documentElement.setAttribute("data-replydesk-adapters", state.adapters.map((a) => a.platform).join(" "));
  document.documentElement.setAttribute("data-replydesk", "ready");
}
