// The reply panel: opens beside a post, streams the suggested reply in, lets the agent edit it with a live tone
// check (findings highlighted in the text), counts characters against the channel's limit, counts down the
// deadline the server gives for the post (the panel computes none), and inserts the reply into the site's own
// reply box. Every listener the panel adds is tied to its AbortController: closing the panel removes them all.
import { codePointToUtf16, countFor } from "../lib/count.js";
import { call, onBroadcast, stream } from "./bridge.js";
import { PanelClaim } from "./claim.js";
import { setControlState } from "./state.js";
import { insertReply, watchSend } from "./insert.js";
import { applyStyles, PANEL_CSS } from "./styles.js";

const TONE_DEBOUNCE_MS = 250;
const ACTIVE = new Set(["waiting", "due_soon", "overdue", "snoozed"]);

export const ICONS = {
  spark: '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true"><path d="M12 3v3M12 18v3M3 12h3M18 12h3M5.6 5.6l2.1 2.1M16.3 16.3l2.1 2.1M5.6 18.4l2.1-2.1M16.3 7.7l2.1-2.1"/><circle cx="12" cy="12" r="2.5"/></svg>',
  clock: '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2.2" stroke-linecap="round" aria-hidden="true"><circle cx="12" cy="12" r="9"/><path d="M12 7v5l3 2"/></svg>',
  close: '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" aria-hidden="true"><path d="M6 6l12 12M18 6L6 18"/></svg>',
  insert: '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2.2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true"><path d="M5 12h14M13 6l6 6-6 6"/></svg>',
  copy: '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true"><rect x="9" y="9" width="11" height="11" rx="2"/><path d="M5 15V6a2 2 0 0 1 2-2h9"/></svg>',
  redo: '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true"><path d="M20 11a8 8 0 1 0-2.3 5.7"/><path d="M20 4v7h-7"/></svg>',
};

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

const TEMPLATE = `
<section class="panel" role="dialog" aria-label="Reply Desk">
  <header>
    <span class="mark">${ICONS.spark}</span><span class="title">Reply Desk</span><span class="spacer"></span>
    <span class="clock" data-state="none" role="timer" aria-live="off">${ICONS.clock}<span class="clock-text">No deadline</span></span>
    <button class="icon close" type="button" aria-label="Close">${ICONS.close}</button>
  </header>
  <div class="who"><div class="avatar" aria-hidden="true"></div><div class="who-text"><div class="name"></div><div class="sub"></div></div></div>
  <div class="claim" role="alert" hidden></div>
  <div class="chips" aria-label="Assessment"></div>
  <div class="advice" id="rd-advice" role="status" hidden></div>
  <div class="editor">
    <div class="backdrop" aria-hidden="true"></div>
    <textarea aria-label="Reply" spellcheck="true" placeholder="Writing a reply…"></textarea>
  </div>
  <div class="meta"><span class="score" data-verdict="none"><i></i><span class="score-text">Tone check</span></span><span class="count" aria-label="Characters"></span></div>
  <div class="sources" hidden></div>
  <div class="notice" hidden></div>
  <ul class="findings" aria-label="Tone check findings"></ul>
  <div class="why" role="alert" hidden></div>
  <div class="error" role="alert" hidden></div>
  <div class="row">
    <button class="btn primary insert" type="button">${ICONS.insert}Insert</button>
    <button class="btn copy" type="button">${ICONS.copy}Copy</button>
    <span class="grow"></span>
    <button class="btn regen" type="button">${ICONS.redo}Regenerate</button>
  </div>
  <div class="row styles" role="group" aria-label="Rewrite">
    <button class="pill" type="button" data-style="shorter">Shorter</button>
    <button class="pill" type="button" data-style="warmer">Warmer</button>
    <button class="pill" type="button" data-style="more formal">More formal</button>
  </div>
  <footer><span class="engine">Reply Desk</span><button class="link replied" type="button">Mark replied</button></footer>
  <div class="toast" role="status" aria-live="polite"></div>
</section>`;

const SEVERITY_WORD = { block: "Block", warn: "Warning", info: "Note" };
const SEVERITY_RANK = { block: 0, warn: 1, info: 2 };

/** Findings, most severe first; within a severity in the order of their place in the text. */
export function sortFindings(findings) {
  const at = (f) => (Array.isArray(f.span) ? f.span[0] : Infinity);
  return findings
    .map((f, i) => ({ f, i }))
    .sort((a, b) => (SEVERITY_RANK[a.f.severity] ?? 1) - (SEVERITY_RANK[b.f.severity] ?? 1) || at(a.f) - at(b.f) || a.i - b.i)
    .map(({ f }) => f);
}

let current = null;
// Post element -> the watcher that notices a reply sent on the site. It outlives its panel (the agent may close
// the panel and send later), and a new panel for the same post takes it over.
const sendWatchers = new WeakMap();

export function currentPanel() {
  return current;
}

/** Open the panel for a post (closing any other). */
export function openPanel(opts) {
  if (current && current.el === opts.el && current.host.isConnected) {
    current.focus();
    return current;
  }
  if (current) current.close();
  current = new Panel(opts);
  return current;
}

function fmtDuration(ms) {
  const s = Math.max(0, Math.round(Math.abs(ms) / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (h >= 24) return `${Math.floor(h / 24)}d ${h % 24}h`;
  if (h) return `${h}h ${String(m).padStart(2, "0")}m`;
  return `${m}:${String(sec).padStart(2, "0")}`;
}

function fmtMinutes(minutes) {
  const m = Number(minutes);
  if (!Number.isFinite(m) || m <= 0) return "";
  if (m < 60 || m % 60) return `${Math.round(m * 10) / 10} min`;
  return m % 1440 ? `${m / 60} h` : `${m / 1440} d`;
}

/**
 * The clock the server gave: a queue item's, or a suggest answer's `deadline` and `target_minutes` (docs/DESIGN.md).
 * Null when it gave none (the panel then shows "No deadline"; it never works one out itself).
 */
export function serverDeadline(source, post) {
  if (!source || !source.deadline || Number.isNaN(Date.parse(source.deadline))) return null;
  const target = typeof source.target_minutes === "number" ? source.target_minutes : null;
  const start = Date.parse(source.started_at || source.created_at || post?.created_at || "") || Date.now();
  return {
    deadline: source.deadline,
    targetMinutes: target,
    dueSoonAt: source.due_soon_at || null,
    totalMs: target ? target * 60000 : Math.max(60000, Date.parse(source.deadline) - start),
  };
}

class Panel {
  constructor({ adapter, el, post, pack, anchor }) {
    this.adapter = adapter;
    this.el = el;
    this.post = post;
    this.pack = pack;
    this.anchor = anchor;
    this.variant = 0;
    this.style = null;
    this.answer = null;
    this.item = null;
    this.deadline = null;
    this.replied = false;
    this.toneSeq = 0;
    this.findings = [];
    this.claimedBy = null; // another agent holding the post (the server's 409), shown as "Dana is replying"
    this.claimWarned = false;
    this.closedBy = null; // another agent answered the post meanwhile: "Dana replied to this post"
    this.href = location.href; // the page the post is on: a site that navigates in place leaves it
    // One controller for every listener this panel adds: close() aborts it, so none outlives the panel.
    this.listeners = new AbortController();
    this.signal = this.listeners.signal;
    // The post's claim (team servers): taken when the server has tracked the post, renewed while the agent is active.
    this.claim = new PanelClaim({ show: (by, message) => this.showClaim(by, message), skewMs: () => this.skewMs || 0,
      signal: this.signal });
    this.host = document.createElement("replydesk-panel");
    this.host.setAttribute("data-replydesk-panel", "");
    this.root = this.host.attachShadow({ mode: "open" });
    applyStyles(this.root, PANEL_CSS);
    const tpl = document.createElement("template");
    tpl.innerHTML = TEMPLATE;
    this.root.append(tpl.content);
    const $ = (sel) => this.root.querySelector(sel);
    this.$ = $;
    this.textarea = $("textarea");
    this.backdrop = $(".backdrop");
    document.body.append(this.host);
    this.renderWho();
    this.bind();
    this.place();
    this.tick = setInterval(() => {
      // The site removed the panel, or navigated in place (X is a single-page app) and the post went with the old
      // page: close, letting go of everything the panel holds (its claim too).
      if (!this.host.isConnected || (!this.el.isConnected && location.href !== this.href)) this.close();
      else {
        this.renderClock();
        this.claim.tick();
      }
    }, 1000);
    this.offQueue = onBroadcast((msg) => this.onBroadcast(msg), { signal: this.signal });
    this.track();
    this.watchSite();
    this.generate();
    window.addEventListener("resize", () => this.place(), { signal: this.signal });
    // Findings and advice make the card taller: keep all of it on screen.
    this.sizeWatch = new ResizeObserver(() => this.place());
    this.sizeWatch.observe(this.root.querySelector(".panel"));
  }

  // ---------------------------------------------------------------- layout

  /** Beside the post: to its right when there is room, else to its left; when neither side quite fits, against
   * the edge of the roomier side (over the post's margin, not its words or its reply box); on a narrow window,
   * over the post. */
  place() {
    const rect = this.el.getBoundingClientRect();
    const width = 370;
    const gap = 16;
    const vw = document.documentElement.clientWidth;
    const roomRight = vw - 8 - rect.right - gap;
    const roomLeft = rect.left - gap - 8;
    let left;
    if (roomRight >= width) left = rect.right + gap;
    else if (roomLeft >= width) left = rect.left - gap - width;
    else if (Math.max(roomRight, roomLeft) >= width * 0.8) left = roomRight >= roomLeft ? vw - width - 8 : 8;
    else left = Math.max(8, Math.min(vw - width - 8, rect.left + 24));
    const height = this.host.offsetHeight || 560;
    const room = window.innerHeight - height - 8;
    const top = Math.max(8, Math.min(rect.top, room)) + window.scrollY;
    this.host.style.left = `${Math.round(left + window.scrollX)}px`;
    this.host.style.top = `${Math.round(top)}px`;
  }

  focus() {
    this.textarea.focus();
  }

  // ---------------------------------------------------------------- rendering

  renderWho() {
    const a = this.post.author || {};
    const name = a.name || a.handle || "Customer";
    this.$(".avatar").textContent = Array.from(name.replace(/^@/, "").trim())[0]?.toUpperCase() || "?";
    this.$(".name").textContent = name;
    const site = this.post.platform === "x" ? "X" : "Facebook";
    const handle = a.handle ? (this.post.platform === "x" ? `@${a.handle}` : a.handle) : "";
    this.$(".sub").textContent = [handle, site, this.post.kind === "comment" ? "comment" : ""].filter(Boolean).join(" · ");
    this.root.querySelector(".panel").setAttribute("aria-label", `Reply Desk: reply to ${name}`);
    // The pack in use: the agent's choice, else the server's default (named by the server, never assumed).
    const pack = this.pack && this.pack.name ? `${this.pack.name}${this.pack.version ? ` v${this.pack.version}` : ""}` : "";
    this.$(".engine").textContent = pack ? `Reply Desk · ${pack}` : "Reply Desk";
  }

  renderChips() {
    const chips = this.$(".chips");
    chips.textContent = "";
    const an = this.answer && this.answer.analysis;
    if (!an) return;
    const add = (cls, text, title) => {
      const span = document.createElement("span");
      span.className = `chip ${cls}`;
      span.textContent = text;
      if (title) span.title = title;
      chips.append(span);
    };
    if (an.intent) add("intent", an.intent.replace(/_/g, " & "), "Intent");
    if (an.severity) add(`sev-${an.severity}`, an.severity, "Severity");
    if (typeof an.sentiment === "number") {
      const s = an.sentiment;
      const mood = s <= -0.5 ? "Upset" : s < -0.05 ? "Unhappy" : s >= 0.5 ? "Delighted" : s > 0.05 ? "Positive" : "Neutral";
      add("mood", mood, `Sentiment ${s.toFixed(2)}`);
    }
  }

  renderClock() {
    const clock = this.$(".clock");
    const text = this.$(".clock-text");
    if (this.replied) {
      clock.dataset.state = "replied";
      text.textContent = "Replied";
      return;
    }
    if (!this.deadline) {
      clock.dataset.state = "none";
      text.textContent = this.answer ? "No deadline" : "…";
      return;
    }
    const now = Date.now() + (this.skewMs || 0);
    const left = Date.parse(this.deadline.deadline) - now;
    const dueSoonAt = Date.parse(this.deadline.dueSoonAt || "");
    const fraction = (this.pack && this.pack.sla && this.pack.sla.due_soon_fraction) || 0.25;
    const dueSoon = Number.isNaN(dueSoonAt) ? left <= this.deadline.totalMs * fraction : now >= dueSoonAt;
    let state = left < 0 ? "overdue" : dueSoon ? "due_soon" : "waiting";
    if (this.item && ACTIVE.has(this.item.state) && this.item.state !== "waiting" && this.item.state !== "snoozed") {
      state = left < 0 ? "overdue" : this.item.state;
    }
    clock.dataset.state = state;
    clock.dataset.deadline = this.deadline.deadline;
    const target = fmtMinutes(this.deadline.targetMinutes);
    if (target) clock.dataset.targetMinutes = String(this.deadline.targetMinutes);
    else delete clock.dataset.targetMinutes;
    text.textContent = left < 0 ? `Overdue ${fmtDuration(left)}` : `${fmtDuration(left)} left`;
    clock.title = `Reply by ${new Date(this.deadline.deadline).toLocaleString()}${target ? ` (target ${target})` : ""}`;
  }

  setDeadlineFromItem(item) {
    const deadline = serverDeadline(item, this.post);
    if (!deadline) return;
    this.item = item;
    this.deadline = deadline;
    if (item.state === "replied" || item.state === "dismissed") this.replied = item.state === "replied";
    this.renderClock();
  }

  limit() {
    const ch = (this.pack && this.pack.channels && this.pack.channels[this.post.platform]) || {};
    const fallback = this.post.platform === "x" ? 280 : 8000;
    return { limit: ch.limit || fallback, counting: ch.counting || (this.post.platform === "x" ? "twitter" : "chars") };
  }

  renderCount(serverLength) {
    const { limit, counting } = this.limit();
    const count = serverLength && typeof serverLength.count === "number" ? serverLength.count : countFor(this.textarea.value, counting);
    const max = (serverLength && serverLength.limit) || limit;
    const el = this.$(".count");
    el.textContent = `${count} / ${max}`;
    el.classList.toggle("over", count > max);
  }

  /** Mirror the text into the backdrop with each finding's span marked. */
  renderMarks() {
    const text = this.textarea.value;
    const spans = this.findings
      .map((f, i) => ({ i, sev: f.severity, span: f.span }))
      .filter((f) => Array.isArray(f.span) && f.span[1] > f.span[0])
      .map((f) => ({ ...f, start: codePointToUtf16(text, f.span[0]), end: codePointToUtf16(text, f.span[1]) }))
      .sort((a, b) => a.start - b.start);
    let html = "";
    let pos = 0;
    for (const f of spans) {
      if (f.start < pos || f.start >= text.length) continue;
      html += esc(text.slice(pos, f.start));
      html += `<mark class="sev-${esc(f.sev || "warn")}" data-i="${f.i}">${esc(text.slice(f.start, f.end))}</mark>`;
      pos = f.end;
    }
    html += esc(text.slice(pos));
    this.backdrop.innerHTML = `${html}\u200b`;
    this.backdrop.scrollTop = this.textarea.scrollTop;
  }

  renderTone(report) {
    const score = this.$(".score");
    const list = this.$(".findings");
    list.textContent = "";
    list.classList.remove("stale");
    if (!report) {
      score.dataset.verdict = "none";
      this.$(".score-text").textContent = "Tone check";
      this.findings = [];
      this.setVerdict(null);
      this.renderMarks();
      return;
    }
    score.dataset.verdict = report.verdict || "none";
    const label = { ok: "Tone OK", warn: "Check tone", block: "Do not send as is" }[report.verdict] || "Tone";
    this.$(".score-text").textContent = typeof report.score === "number" ? `${label} · ${Math.round(report.score)}` : label;
    // Most severe first (block, warn, info), in the text's order within a severity; the list scrolls and each
    // finding takes the focus, so all are reachable; a suggested fix is shown whatever its length.
    this.findings = sortFindings(report.findings || []);
    list.setAttribute("aria-label", `Tone check findings (${this.findings.length})`);
    this.findings.forEach((f, i) => {
      const li = document.createElement("li");
      const sev = SEVERITY_WORD[f.severity] ? f.severity : "warn";
      li.className = `sev-${sev}`;
      li.dataset.i = String(i);
      li.tabIndex = 0;
      const msg = document.createElement("span");
      const word = document.createElement("b");
      word.className = "sev-word";
      word.textContent = `${SEVERITY_WORD[sev]}: `;
      msg.append(word, f.message || f.rule || "Check this");
      if (f.suggestion) {
        const hint = document.createElement("span");
        hint.className = "hint";
        hint.textContent = `Try: ${f.suggestion}`;
        msg.append(hint);
      }
      li.append(msg);
      for (const [type, on] of [["mouseenter", true], ["mouseleave", false], ["focus", true], ["blur", false]]) {
        li.addEventListener(type, () => this.hot(i, on), { signal: this.signal });
      }
      list.append(li);
    });
    this.setVerdict(report.verdict);
    this.renderMarks();
    this.renderCount(report.length);
  }

  /** A block verdict turns Insert into "Insert anyway": its first click only shows why. */
  setVerdict(verdict) {
    this.toneStale = false;
    if (verdict !== this.verdict) this.blockShown = false;
    this.verdict = verdict || null;
    const button = this.$(".insert");
    button.innerHTML = `${ICONS.insert}${verdict === "block" ? "Insert anyway" : "Insert"}`;
    button.classList.toggle("anyway", verdict === "block");
    if (verdict !== "block") this.$(".why").hidden = true;
  }

  /**
   * What the server says beside the reply: its advice as a banner above it (an alert when the pack does not engage
   * the post), the sources the reply drew on and a notice (say, the pack had no playbook in the post's language)
   * under it. Server text only ever goes in through textContent; a link only for an http(s) article URL.
   */
  renderGuidance(answer) {
    const advice = this.$(".advice");
    const text = (answer && answer.advice) || "";
    const silent = Boolean(answer) && answer.engage === false;
    advice.hidden = !text;
    advice.textContent = text;
    advice.setAttribute("role", silent ? "alert" : "status");
    advice.classList.toggle("silent", silent);
    if (text) advice.setAttribute("aria-label", `Advice: ${text}`);
    else advice.removeAttribute("aria-label");
    const box = this.$(".sources");
    box.textContent = "";
    const sources = (answer && Array.isArray(answer.sources) ? answer.sources : []).filter((s) => s && (s.title || s.id));
    box.hidden = sources.length === 0;
    if (sources.length) {
      const label = document.createElement("span");
      label.className = "label";
      label.textContent = "Sources: ";
      const list = document.createElement("ul");
      list.setAttribute("aria-label", "Sources");
      for (const src of sources) list.append(this.sourceItem(src));
      box.append(label, list);
    }
    const notice = this.$(".notice");
    notice.textContent = (answer && answer.notice) || "";
    notice.hidden = !notice.textContent;
  }

  /** One source: a knowledge article (a link when it has a web address) or a reply the team sent before. */
  sourceItem(src) {
    const li = document.createElement("li");
    const sent = String(src.id || "").startsWith("reply:");
    const text = String(src.title || (sent ? "A reply the team sent" : src.id));
    let url = null;
    try {
      url = !sent && src.url ? new URL(String(src.url)) : null;
    } catch {
      url = null;
    }
    if (url && (url.protocol === "https:" || url.protocol === "http:")) {
      const a = document.createElement("a");
      a.href = url.href;
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      a.textContent = text;
      li.append(a);
    } else {
      li.textContent = text;
    }
    li.className = sent ? "sent" : "article";
    li.title = sent ? "A reply the team sent" : "Knowledge article";
    return li;
  }

  /** A post the pack does not engage, with no reply: Insert stays off, the advice saying why. */
  updateInsert() {
    const button = this.$(".insert");
    const off = Boolean(this.answer) && this.answer.engage === false && !this.textarea.value.trim();
    const reason = off ? this.answer.advice || "Reply Desk advises not to reply to this post." : "";
    if (this.busy) return;
    button.disabled = off;
    if (off) {
      button.title = reason;
      button.setAttribute("aria-describedby", "rd-advice");
    } else {
      button.removeAttribute("title");
      button.removeAttribute("aria-describedby");
    }
  }

  /** Why the draft should not go out as is: its blocking findings, and how to insert it all the same. */
  showWhy() {
    const why = this.$(".why");
    why.textContent = "";
    const head = document.createElement("strong");
    head.textContent = "Do not send as is.";
    const list = document.createElement("ul");
    for (const f of this.findings.filter((x) => x.severity === "block")) {
      const li = document.createElement("li");
      li.textContent = f.suggestion ? `${f.message || f.rule} Try: ${f.suggestion}` : f.message || f.rule;
      list.append(li);
    }
    const tail = document.createElement("span");
    tail.textContent = "Edit the reply, or press Insert anyway again to insert it as it is.";
    why.append(head, list, tail);
    why.hidden = false;
  }

  hot(i, on) {
    const mark = this.backdrop.querySelector(`mark[data-i="${i}"]`);
    if (mark) mark.classList.toggle("hot", on);
  }

  showError(err) {
    const box = this.$(".error");
    if (!err) {
      box.hidden = true;
      return;
    }
    box.hidden = false;
    box.textContent = "";
    const message = err.message || String(err);
    const cmd = message.match(/(python -m server \w+|make run)/);
    if (cmd) {
      const [before, after] = message.split(cmd[0]);
      const code = document.createElement("code");
      code.textContent = cmd[0];
      box.append(before, code, after);
    } else {
      box.textContent = message;
    }
  }

  toast(text) {
    const t = this.$(".toast");
    t.textContent = text;
    t.classList.add("show");
    clearTimeout(this.toastTimer);
    this.toastTimer = setTimeout(() => t.classList.remove("show"), 1800);
  }

  autoHeight() {
    this.textarea.style.height = "auto";
    this.textarea.style.height = `${Math.min(280, Math.max(96, this.textarea.scrollHeight + 2))}px`;
  }

  setBusy(busy) {
    this.busy = busy;
    this.$(".editor").classList.toggle("streaming", busy);
    this.textarea.readOnly = busy;
    for (const b of this.root.querySelectorAll(".row button")) b.disabled = busy;
  }

  // ---------------------------------------------------------------- behaviour

  bind() {
    const on = { signal: this.signal };
    this.$(".close").addEventListener("click", () => this.close(), on);
    this.textarea.addEventListener("input", () => {
      // Old findings point at old offsets: hide their marks and dim the list until the new check is back.
      this.findings = [];
      this.toneStale = true;
      this.$(".findings").classList.add("stale");
      this.autoHeight();
      this.renderCount();
      this.renderMarks();
      this.updateInsert();
      this.scheduleTone();
    }, on);
    this.textarea.addEventListener("scroll", () => {
      this.backdrop.scrollTop = this.textarea.scrollTop;
    }, on);
    this.$(".insert").addEventListener("click", () => this.insert(), on);
    this.$(".copy").addEventListener("click", () => this.copy(), on);
    this.$(".regen").addEventListener("click", () => {
      this.variant += 1;
      this.generate();
    }, on);
    for (const pill of this.root.querySelectorAll(".pill")) {
      pill.addEventListener("click", () => {
        this.style = pill.dataset.style;
        this.generate();
      }, on);
    }
    this.$(".replied").addEventListener("click", () => this.markReplied("button"), on);
    this.root.addEventListener("keydown", (ev) => {
      if (ev.key === "Escape") this.close();
      ev.stopPropagation(); // keep the site's keyboard shortcuts (j/k/l/r on X) out of the editor
    }, on);
    this.root.addEventListener("keypress", (ev) => ev.stopPropagation(), on);
  }

  async track() {
    try {
      const res = await call("track", { post: this.post });
      this.skewMs = res.skewMs || 0;
      if (res.item) this.setDeadlineFromItem(res.item);
      if (res.me) this.claim.myName = res.me; // who we are: a claim of ours is not "someone else's"
      if (res.item && !this.replied) this.claim.start(res.item);
    } catch (err) {
      if (err.code === "server_down" || err.code === "not_paired") this.showError(err);
    }
  }

  generate() {
    if (this.cancel) this.cancel();
    this.showError(null);
    this.setBusy(true);
    this.textarea.value = "";
    this.renderTone(null);
    this.renderGuidance(null);
    this.autoHeight();
    this.renderCount();
    const options = { variant: this.variant };
    if (this.style) options.style = this.style;
    this.cancel = stream("suggest", { post: this.post, options }, (msg) => {
      if (msg.event === "delta") {
        this.textarea.value += msg.text;
        this.autoHeight();
        this.renderCount();
        this.renderMarks();
      } else if (msg.event === "done") {
        this.cancel = null;
        this.onAnswer(msg.answer);
      } else if (msg.event === "error") {
        this.cancel = null;
        this.setBusy(false);
        this.showError(msg.error);
      }
    });
  }

  onAnswer(answer) {
    this.answer = answer;
    this.setBusy(false);
    if (answer.reply && this.textarea.value !== answer.reply) this.textarea.value = answer.reply;
    this.autoHeight();
    this.renderChips();
    this.renderGuidance(answer);
    this.renderTone(answer.tone);
    this.updateInsert();
    const engine = [answer.engine, answer.pack && `${answer.pack.name} v${answer.pack.version}`].filter(Boolean).join(" · ");
    this.$(".engine").textContent = answer.fallback_reason ? `${engine} (fallback)` : engine || "Reply Desk";
    // The server's clock for this post: its queue item when tracked, else the answer's deadline and target.
    if (answer.queue_item) {
      this.setDeadlineFromItem(answer.queue_item);
      if (!this.replied) this.claim.start(answer.queue_item);
    } else if (!this.item) this.deadline = serverDeadline(answer, this.post) || this.deadline;
    this.renderClock();
    this.place();
    this.host.dispatchEvent(new CustomEvent("replydesk:ready", { bubbles: true, composed: true }));
  }

  scheduleTone() {
    clearTimeout(this.toneTimer);
    this.toneTimer = setTimeout(() => this.checkTone(), TONE_DEBOUNCE_MS);
  }

  async checkTone() {
    const text = this.textarea.value;
    const seq = ++this.toneSeq;
    if (!text.trim()) {
      this.renderTone(null);
      return;
    }
    try {
      const report = await call("tone", { text, platform: this.post.platform, post: this.post });
      if (seq === this.toneSeq && text === this.textarea.value) this.renderTone(report);
    } catch (err) {
      if (seq === this.toneSeq) this.showError(err);
    }
  }

  // ---------------------------------------------------------------- claims (team servers)

  /** "Dana is replying", prominently above the reply; null hides it (content/claim.js decides). */
  showClaim(by, message) {
    if (this.closedBy) return; // "Dana replied" stays
    const box = this.$(".claim");
    if (by !== this.claimedBy) this.claimWarned = false;
    this.claimedBy = by || null;
    box.hidden = !by;
    box.textContent = by ? message || `${by} is replying` : "";
    this.root.querySelector(".panel").dataset.claimedBy = by || "";
  }

  /** Another agent replied to (or dismissed) our post meanwhile: the clock stops, the panel says who, and
   * Insert warns before a second answer goes to the same customer. */
  closedElsewhere(item) {
    if (this.replied || this.closedBy) return;
    this.claim.stop();
    this.item = item;
    this.replied = item.state === "replied";
    if (!this.replied) this.deadline = null; // dismissed: no clock runs for it any more
    const by = item.replied_by || this.claimedBy || "Another agent";
    this.showClaim(null);
    this.closedBy = by;
    this.claimWarned = false;
    const box = this.$(".claim");
    box.hidden = false;
    box.textContent = item.state === "replied" ? `${by} replied to this post` : "This post was dismissed";
    this.root.querySelector(".panel").dataset.closedBy = by;
    const button = this.$(".replied");
    button.disabled = true;
    button.textContent = item.state === "replied" ? `Replied by ${by}` : "Dismissed";
    this.renderClock();
    markControl(this.el, "replied");
  }

  async insert() {
    const text = this.textarea.value.trim();
    if (!text) return;
    this.showError(null);
    const other = this.closedBy || this.claimedBy;
    if (other && !this.claimWarned) {
      // Someone else is replying, or has replied: the first click says so; the second inserts all the same.
      this.claimWarned = true;
      this.$(".claim").textContent = this.closedBy
        ? `${other} already replied to this post. Press Insert again to insert yours anyway.`
        : `${other} is replying to this post. Press Insert again to insert yours anyway.`;
      return;
    }
    if (this.toneStale) {
      // An edit the tone check has not seen yet: check it first, so a blocked draft never slips through.
      clearTimeout(this.toneTimer);
      await this.checkTone();
    }
    if (this.verdict === "block" && !this.blockShown) {
      this.blockShown = true;
      this.showWhy();
      return;
    }
    try {
      await insertReply(this.adapter, this.el, text);
      this.toast("Inserted: send it on the site");
    } catch (err) {
      this.showError(err);
    }
  }

  /** Notice the agent sending a reply to this post on the site: inserted, pasted or typed in the site's box. */
  watchSite() {
    const old = sendWatchers.get(this.el);
    if (old) old();
    const stop = watchSend(this.adapter, () => this.adapter.replyBox(this.el), () => {
      sendWatchers.delete(this.el);
      this.markReplied("site");
    });
    sendWatchers.set(this.el, stop);
  }

  async copy() {
    const text = this.textarea.value;
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      this.textarea.select();
      document.execCommand("copy");
    }
    this.toast("Copied");
  }

  async markReplied(how) {
    if (this.replied) return;
    this.replied = true;
    const stopWatch = sendWatchers.get(this.el);
    if (stopWatch) stopWatch();
    sendWatchers.delete(this.el);
    this.renderClock();
    const button = this.$(".replied");
    button.disabled = true;
    button.textContent = how === "site" ? "Reply sent" : "Marked replied";
    this.claim.stop(); // replied releases the claim on the server
    try {
      const res = await call("replied", { post: this.post, id: this.item && this.item.id });
      if (res && res.item) this.item = res.item;
    } catch (err) {
      this.showError(err);
    }
    this.host.dispatchEvent(new CustomEvent("replydesk:replied", { bubbles: true, composed: true, detail: { how } }));
    markControl(this.el, "replied");
  }

  onBroadcast(msg) {
    if (msg.event !== "queue" || this.replied || this.closedBy) return;
    this.skewMs = msg.skewMs || this.skewMs;
    const ours = (it) => it && it.platform === this.post.platform && String(it.post_id) === String(this.post.post_id);
    // The list holds open posts only: a post answered elsewhere arrives as the change itself.
    if (ours(msg.changed) && (msg.changed.state === "replied" || msg.changed.state === "dismissed")) {
      this.closedElsewhere(msg.changed);
      return;
    }
    const mine = (msg.items || []).find(ours);
    if (mine) {
      this.setDeadlineFromItem(mine);
      this.claim.noteItem(mine, msg.me);
    }
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    this.listeners.abort();
    if (this.cancel) this.cancel();
    clearInterval(this.tick);
    this.claim.release();
    clearTimeout(this.toneTimer);
    clearTimeout(this.toastTimer);
    if (this.offQueue) this.offQueue();
    this.sizeWatch.disconnect();
    this.host.remove();
    if (this.anchor) this.anchor.setAttribute("aria-expanded", "false");
    if (current === this) current = null;
  }
}

/** Reflect a post's queue state on its "Suggest reply" control (a small colored dot). */
export function markControl(el, state) {
  setControlState(el.querySelector("replydesk-control"), state);
}
