// The queue view (Chromium's side panel, Firefox's sidebar): every tracked post in the queue's priority order with
// its clock, one click (or Enter) to open it on the site. Keyboard-first: j/k or the arrows move, Enter opens,
// s opens it with its reply panel, i inserts that panel's reply, r marks the post replied.
import { call, onBroadcast } from "../content/bridge.js";
import { claimNote } from "../lib/claims.js";

const $ = (id) => document.getElementById(id);
const STATE_WORD = { waiting: "waiting", due_soon: "due soon", overdue: "overdue", snoozed: "snoozed" };
let items = [];
let skewMs = 0;
let me = null; // this agent's name on a team server, once a claim named it
let at = 0; // the selected item
let lastTab = null; // the tab the last "suggest" opened, for "insert"

function fmt(ms) {
  const s = Math.round(Math.abs(ms) / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (h) return `${h}h ${String(m).padStart(2, "0")}m`;
  return `${m}:${String(s % 60).padStart(2, "0")}`;
}

function note(text) {
  $("note").textContent = text;
}

function render() {
  const list = $("items");
  const hadFocus = list.contains(document.activeElement);
  list.textContent = "";
  $("empty").hidden = items.length > 0;
  at = Math.min(at, Math.max(0, items.length - 1));
  const now = Date.now() + skewMs;
  items.forEach((it, i) => {
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.type = "button";
    b.dataset.id = String(it.id);
    b.tabIndex = i === at ? 0 : -1;
    if (i === at) b.setAttribute("aria-current", "true");
    const left = it.deadline ? Date.parse(it.deadline) - now : null;
    const state = left !== null && left < 0 ? "overdue" : it.state;
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = `${it.author?.name || it.author?.handle || "Customer"} · ${it.platform === "x" ? "X" : "Facebook"}`;
    const text = document.createElement("span");
    text.className = "text";
    text.textContent = it.text || "";
    const clock = document.createElement("span");
    clock.className = "left";
    clock.dataset.state = state;
    clock.textContent = left === null ? "no clock" : left < 0 ? `−${fmt(left)}` : fmt(left);
    b.append(who, clock, text);
    const claimed = claimNote(it, me, skewMs);
    if (claimed) {
      const tag = document.createElement("span");
      tag.className = "claimed";
      tag.textContent = claimed;
      b.append(tag);
      b.dataset.claimedBy = it.claimed_by;
    }
    const when = left === null ? "no clock" : left < 0 ? `overdue by ${fmt(left)}` : `${fmt(left)} left`;
    b.setAttribute("aria-label", `${who.textContent}: ${STATE_WORD[state] || state}, ${when}${claimNote(it, me, skewMs) ? `, ${claimNote(it, me, skewMs)}` : ""}`);
    b.addEventListener("click", () => {
      at = i;
      openItem(false);
    });
    li.append(b);
    list.append(li);
  });
  if (hadFocus) focusCurrent();
}

function focusCurrent() {
  const buttons = $("items").querySelectorAll("button");
  buttons.forEach((b, i) => {
    b.tabIndex = i === at ? 0 : -1;
    if (i === at) b.setAttribute("aria-current", "true");
    else b.removeAttribute("aria-current");
  });
  if (buttons[at]) buttons[at].focus();
}

async function openItem(suggest) {
  const it = items[at];
  if (!it) return;
  if (!it.url) {
    note("This post has no link to open.");
    return;
  }
  const res = await call("openPost", { url: it.url, post_id: it.post_id, suggest }, 30000);
  lastTab = res && res.tab;
  if (suggest) note(res && res.opened ? "Reply panel open on the site." : "Opened; the page did not show the post.");
}

async function markReplied() {
  const it = items[at];
  if (!it) return;
  await call("replied", { post: { platform: it.platform, post_id: it.post_id, url: it.url, author: it.author, text: it.text }, id: it.id });
  note(`Marked replied: ${it.author?.name || it.author?.handle || "post"}.`);
}

async function insert() {
  if (lastTab === null) {
    note("Press s on a post first: it opens the post with its reply panel.");
    return;
  }
  const res = await call("tabCommand", { tab: lastTab, command: "insert-current" });
  note(res && res.inserted ? "Inserted: send it on the site." : "No reply panel open in that tab.");
}

document.addEventListener("keydown", (ev) => {
  if (ev.altKey || ev.ctrlKey || ev.metaKey) return;
  const key = ev.key;
  if (key === "j" || key === "ArrowDown") at = Math.min(items.length - 1, at + 1);
  else if (key === "k" || key === "ArrowUp") at = Math.max(0, at - 1);
  else if (key === "Enter" || key === "o") openItem(false);
  else if (key === "s") openItem(true);
  else if (key === "i") insert();
  else if (key === "r") markReplied();
  else return;
  ev.preventDefault();
  if (key === "j" || key === "k" || key === "ArrowDown" || key === "ArrowUp") focusCurrent();
});

function showStatus(status) {
  $("state").dataset.state = status.state;
  $("state").querySelector("span").textContent = status.message || status.state;
}

onBroadcast((msg) => {
  if (msg.event === "status") showStatus(msg.status);
  if (msg.event === "queue") {
    items = msg.items || [];
    skewMs = msg.skewMs || 0;
    me = msg.me || me;
    render();
  }
});
call("status").then(showStatus).catch((err) => showStatus({ state: "server_down", message: err.message }));
call("queue").then((q) => {
  items = q.items || [];
  skewMs = q.skewMs || 0;
  me = q.me || me;
  render();
  focusCurrent();
}).catch(() => render());
setInterval(render, 1000);
