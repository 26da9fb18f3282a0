// Toolbar popup: connection state and the posts waiting for an answer, with the time each has left.
import { ext } from "../lib/ext.js";
import { call, onBroadcast } from "../content/bridge.js";
import { claimNote } from "../lib/claims.js";

const $ = (id) => document.getElementById(id);
let items = [];
let skewMs = 0;
let me = null; // this agent's name on a team server, once a claim named it

function fmt(ms) {
  const s = Math.round(Math.abs(ms) / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (h) return `${h}h ${String(m).padStart(2, "0")}m`;
  return `${m}:${String(s % 60).padStart(2, "0")}`;
}

function showStatus(status) {
  $("state").dataset.state = status.state;
  $("state").querySelector("span").textContent = status.message || status.state;
  const bad = status.state === "server_down" || status.state === "not_paired";
  $("fix").hidden = !bad;
  if (bad) {
    $("fix-text").textContent = status.state === "server_down" ? "Start the server in the Reply Desk folder:" : "Pair in Options with the token from:";
    $("fix-cmd").textContent = status.state === "server_down" ? "make run" : "python -m server token";
  }
}

function render() {
  const list = $("items");
  list.textContent = "";
  $("count").textContent = items.length ? String(items.length) : "";
  $("empty").hidden = items.length > 0;
  const now = Date.now() + skewMs;
  for (const it of items) {
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.type = "button";
    const left = it.deadline ? Date.parse(it.deadline) - now : NaN; // no_reply posts have no clock
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = `${it.customer || it.author?.name || it.author?.handle || "Customer"} · ${it.platform === "x" ? "X" : "Facebook"}`;
    const text = document.createElement("span");
    text.className = "text";
    text.textContent = it.text || "";
    const clock = document.createElement("span");
    clock.className = "left";
    clock.dataset.state = left < 0 ? "overdue" : it.state;
    clock.textContent = Number.isNaN(left) ? "no clock" : left < 0 ? `−${fmt(left)}` : fmt(left);
    b.append(who, clock, text);
    const claimed = claimNote(it, me, skewMs);
    if (claimed) {
      const tag = document.createElement("span");
      tag.className = "claimed";
      tag.textContent = claimed;
      b.append(tag);
      b.dataset.claimedBy = it.claimed_by;
    }
    const when = Number.isNaN(left) ? "no clock" : left < 0 ? "overdue" : `${fmt(left)} left`;
    b.setAttribute("aria-label", `${who.textContent}: ${when}${claimNote(it, me, skewMs) ? `, ${claimNote(it, me, skewMs)}` : ""}`);
    if (it.url) b.addEventListener("click", () => call("openTab", { url: it.url }).then(() => window.close()));
    li.append(b);
    list.append(li);
  }
}

// ---------------------------------------------------------------- the tab's health line and "Report this page"

/** The tab the popup is about: the active one, or `?tab=<id>` (an options link, the tests). */
async function targetTab() {
  const id = Number(new URLSearchParams(location.search).get("tab"));
  if (Number.isInteger(id) && id > 0) return id;
  const [tab] = await ext.tabs.query({ active: true, currentWindow: true });
  return tab ? tab.id : null;
}

async function askTab(type) {
  const tab = await targetTab();
  if (tab === null) return null;
  try {
    return await ext.tabs.sendMessage(tab, { type });
  } catch {
    return null; // no Reply Desk content script on that page
  }
}

/** "12 posts found · 11 read · 1 could not be read": the agent sees when a page is not fully understood. */
export function healthText(h) {
  if (!h) return "Reply Desk does not read this page.";
  const posts = (n) => `${n} post${n === 1 ? "" : "s"}`;
  const parts = [`${posts(h.found)} found`, `${h.read} read`, `${h.unreadable} could not be read`];
  if (h.brand) parts.push(`${h.brand} the brand's own`);
  return parts.join(" · ");
}

async function showHealth() {
  const h = await askTab("health");
  const box = $("health");
  $("health-line").textContent = healthText(h);
  box.dataset.state = h && h.unreadable ? "bad" : "ok";
  for (const [k, v] of Object.entries(h || {})) if (typeof v === "number") box.dataset[k] = String(v);
  $("report").hidden = !h;
}

function download(name, text) {
  const url = URL.createObjectURL(new Blob([text], { type: "application/json" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

/** Save the page's anonymised skeleton: kept in storage (the last five) and downloaded as a JSON file. */
async function reportPage() {
  const report = await askTab("report");
  const note = $("report-note");
  note.hidden = false;
  if (!report) {
    note.textContent = "This page could not be reported.";
    return;
  }
  const { reports = [] } = await ext.storage.local.get("reports");
  await ext.storage.local.set({ reports: [...reports, report].slice(-5) });
  const name = `replydesk-report-${report.site}-${report.created_at.replace(/[:.]/g, "-")}.json`;
  download(name, JSON.stringify(report));
  note.textContent = `Saved ${name}: the page's structure only (no text, names or links).`;
}

$("report").addEventListener("click", () => reportPage());
showHealth();
setInterval(showHealth, 2000); // the page keeps scrolling: so does its health line

onBroadcast((msg) => {
  if (msg.event === "status") showStatus(msg.status);
  if (msg.event === "queue") {
    items = msg.items || [];
    skewMs = msg.skewMs || 0;
    me = msg.me || me;
    render();
  }
});
$("options").addEventListener("click", () => ext.runtime.openOptionsPage());
// The queue view: Chromium's side panel, Firefox's sidebar (both open only from a click like this one).
$("queue-view").addEventListener("click", async () => {
  try {
    if (ext.sidePanel && ext.sidePanel.open) {
      const win = await ext.windows.getCurrent();
      await ext.sidePanel.open({ windowId: win.id });
    } else if (globalThis.browser && browser.sidebarAction) {
      await browser.sidebarAction.open();
    } else {
      await ext.tabs.create({ url: ext.runtime.getURL("sidepanel/sidepanel.html") });
    }
    window.close();
  } catch {
    await ext.tabs.create({ url: ext.runtime.getURL("sidepanel/sidepanel.html") });
  }
});
call("status").then(showStatus).catch((err) => showStatus({ state: "server_down", message: err.message }));
call("queue").then((q) => {
  items = q.items || [];
  skewMs = q.skewMs || 0;
  me = q.me || me;
  render();
}).catch(() => render());
setInterval(render, 1000);
