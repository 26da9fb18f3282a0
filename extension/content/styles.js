// Styles for what Reply Desk puts into pages. They live in open shadow roots, so the site's CSS cannot reach them
// and ours cannot leak out. Kept as JS strings because there is no build step.

const TOKENS = `
  :host { all: initial; }
  * { box-sizing: border-box; }
  :host {
    --rd-font: "Reply Desk Emoji", ui-sans-serif, system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans",
      "Apple Color Emoji", "Segoe UI Emoji", sans-serif;
    --rd-ink: #0f172a; --rd-ink-2: #334155; --rd-muted: #64748b; --rd-line: #e2e8f0; --rd-soft: #f8fafc;
    --rd-accent: #4f46e5; --rd-accent-ink: #ffffff; --rd-accent-soft: #eef2ff; --rd-accent-line: #c7d2fe;
    --rd-ok: #047857; --rd-ok-soft: #ecfdf5; --rd-warn: #b45309; --rd-warn-soft: #fffbeb; --rd-warn-mark: rgba(245,158,11,.28);
    --rd-bad: #b91c1c; --rd-bad-soft: #fef2f2; --rd-bad-mark: rgba(239,68,68,.26); --rd-info: #1d4ed8;
    --rd-info-soft: #eff6ff; --rd-info-mark: rgba(59,130,246,.20);
    font-family: var(--rd-font); color: var(--rd-ink);
  }
`;

export const CONTROL_CSS = `${TOKENS}
  :host { display: inline-flex; align-items: center; vertical-align: middle; margin-left: 4px; }
  button {
    font: 600 13px/1 var(--rd-font); color: var(--rd-accent); background: transparent;
    border: 1px solid var(--rd-accent-line); border-radius: 999px; padding: 6px 10px 6px 8px; cursor: pointer;
    display: inline-flex; align-items: center; gap: 6px; white-space: nowrap; transition: background .15s, box-shadow .15s;
  }
  button:hover { background: var(--rd-accent-soft); }
  button:focus-visible { outline: 2px solid var(--rd-accent); outline-offset: 2px; }
  button[aria-expanded="true"] { background: var(--rd-accent); color: var(--rd-accent-ink); border-color: var(--rd-accent); }
  svg { width: 14px; height: 14px; flex: none; }
  .dot { width: 7px; height: 7px; border-radius: 50%; background: transparent; flex: none; margin-left: -2px; }
  :host([data-state="waiting"]) .dot { background: #10b981; }
  :host([data-state="due_soon"]) .dot { background: #f59e0b; }
  :host([data-state="overdue"]) .dot { background: #ef4444; }
  :host([data-state="replied"]) .dot, :host([data-state="dismissed"]) .dot, :host([data-state="closed"]) .dot { background: #94a3b8; }
  :host([data-state="snoozed"]) .dot { background: #6366f1; }
  .state { font-weight: 600; font-size: 12px; color: var(--rd-muted); }
  .state[hidden] { display: none; }
  :host([data-state="due_soon"]) .state { color: #b45309; }
  :host([data-state="overdue"]) .state { color: #b91c1c; }
`;

export const PANEL_CSS = `${TOKENS}
  :host { position: absolute; z-index: 2147483000; display: block; }
  .panel {
    width: 368px; background: #fff; border: 1px solid var(--rd-line); border-radius: 16px;
    box-shadow: 0 24px 48px -12px rgba(15,23,42,.22), 0 4px 12px rgba(15,23,42,.08);
    overflow: hidden; font-size: 14px; line-height: 1.45; animation: rd-in .16s ease-out;
  }
  @keyframes rd-in { from { opacity: 0; transform: translateY(4px) scale(.99); } to { opacity: 1; transform: none; } }
  header { display: flex; align-items: center; gap: 8px; padding: 12px 12px 0 16px; }
  .mark { width: 22px; height: 22px; border-radius: 7px; background: linear-gradient(135deg, #6366f1, #4338ca);
    display: grid; place-items: center; color: #fff; flex: none; }
  .mark svg { width: 13px; height: 13px; }
  .title { font-weight: 650; font-size: 13px; letter-spacing: .01em; color: var(--rd-ink-2); }
  .spacer { flex: 1; }
  .clock { font: 600 12px/1 var(--rd-font); font-variant-numeric: tabular-nums; padding: 6px 9px; border-radius: 999px;
    display: inline-flex; align-items: center; gap: 5px; background: var(--rd-soft); color: var(--rd-muted); }
  .clock svg { width: 12px; height: 12px; }
  .clock[data-state="waiting"] { background: var(--rd-ok-soft); color: var(--rd-ok); }
  .clock[data-state="due_soon"] { background: var(--rd-warn-soft); color: var(--rd-warn); }
  .clock[data-state="overdue"] { background: var(--rd-bad-soft); color: var(--rd-bad); }
  .clock[data-state="replied"] { background: var(--rd-soft); color: var(--rd-ok); }
  .icon { width: 28px; height: 28px; border-radius: 8px; border: 0; background: transparent; color: var(--rd-muted);
    cursor: pointer; display: grid; place-items: center; }
  .icon:hover { background: var(--rd-soft); color: var(--rd-ink); }
  .icon svg { width: 16px; height: 16px; }
  .who { display: flex; align-items: center; gap: 10px; padding: 10px 16px 0; }
  .avatar { width: 34px; height: 34px; border-radius: 50%; flex: none; display: grid; place-items: center;
    font-weight: 700; font-size: 14px; color: #fff; background: linear-gradient(135deg, #94a3b8, #64748b); }
  .who-text { min-width: 0; }
  .name { font-weight: 650; font-size: 14px; line-height: 1.2; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
  .sub { color: var(--rd-muted); font-size: 12px; line-height: 1.3; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
  .chips { display: flex; flex-wrap: wrap; gap: 6px; padding: 10px 16px 0; min-height: 10px; }
  .chip { font: 600 11px/1 var(--rd-font); letter-spacing: .02em; padding: 5px 8px; border-radius: 6px;
    background: var(--rd-soft); color: var(--rd-ink-2); border: 1px solid var(--rd-line); text-transform: capitalize; }
  .chip.intent { background: var(--rd-accent-soft); color: #3730a3; border-color: var(--rd-accent-line); }
  .chip.sev-low { color: var(--rd-muted); }
  .chip.sev-normal { background: var(--rd-info-soft); color: var(--rd-info); border-color: #bfdbfe; }
  .chip.sev-high { background: var(--rd-warn-soft); color: var(--rd-warn); border-color: #fde68a; }
  .chip.sev-critical { background: var(--rd-bad-soft); color: var(--rd-bad); border-color: #fecaca; }
  .chip.mood { text-transform: none; }
  .advice { margin: 10px 16px 0; padding: 8px 10px; border-radius: 10px; background: var(--rd-warn-soft);
    color: #92400e; font-size: 12.5px; border: 1px solid #fde68a; }
  .advice.silent { background: var(--rd-bad-soft); color: #7f1d1d; border-color: #fecaca; font-weight: 600; }
  .claim { margin: 10px 16px 0; padding: 8px 10px; border-radius: 10px; background: var(--rd-bad-soft); color: #7f1d1d;
    border: 1px solid #fecaca; font-weight: 700; font-size: 13px; }
  .claim[hidden] { display: none; }
  .advice[hidden], .error[hidden], .sources[hidden], .notice[hidden], .findings:empty { display: none; }
  .sources { margin: 6px 16px 0; font-size: 12px; color: var(--rd-muted); }
  .sources .label { font-weight: 600; }
  .sources ul { display: inline; margin: 0; padding: 0; list-style: none; }
  .sources li { display: inline; }
  .sources li + li::before { content: " · "; }
  .sources a { color: var(--rd-accent); }
  .notice { margin: 4px 16px 0; font-size: 11.5px; color: var(--rd-muted); font-style: italic; }
  .editor { position: relative; margin: 12px 16px 0; border: 1px solid var(--rd-line); border-radius: 12px;
    background: #fff; transition: border-color .15s, box-shadow .15s; }
  .editor:focus-within { border-color: #a5b4fc; box-shadow: 0 0 0 3px rgba(99,102,241,.15); }
  .backdrop, textarea { font: 14px/1.5 var(--rd-font); padding: 10px 12px; margin: 0; border: 0;
    white-space: pre-wrap; overflow-wrap: break-word; word-break: normal; letter-spacing: normal; }
  .backdrop { position: absolute; inset: 0; color: transparent; overflow: hidden; pointer-events: none; border-radius: 12px; }
  .backdrop mark { color: transparent; border-radius: 3px; background: var(--rd-warn-mark);
    box-shadow: inset 0 -2px 0 rgba(217,119,6,.7); }
  .backdrop mark.sev-block { background: var(--rd-bad-mark); box-shadow: inset 0 -2px 0 rgba(220,38,38,.75); }
  .backdrop mark.sev-info { background: var(--rd-info-mark); box-shadow: inset 0 -2px 0 rgba(37,99,235,.6); }
  .backdrop mark.hot { outline: 2px solid currentColor; outline-color: rgba(15,23,42,.35); }
  textarea { position: relative; display: block; width: 100%; min-height: 96px; max-height: 280px; resize: none;
    background: transparent; color: var(--rd-ink); outline: none; overflow-y: auto; border-radius: 12px; }
  textarea[readonly] { cursor: progress; }
  .editor.streaming::after { content: ""; position: absolute; right: 10px; bottom: 10px; width: 8px; height: 8px;
    border-radius: 50%; background: var(--rd-accent); animation: rd-pulse 1s ease-in-out infinite; }
  @keyframes rd-pulse { 0%,100% { opacity: .25; transform: scale(.8); } 50% { opacity: 1; transform: scale(1); } }
  .meta { display: flex; align-items: center; gap: 8px; padding: 8px 16px 0; font-size: 12px; color: var(--rd-muted); }
  .score { display: inline-flex; align-items: center; gap: 6px; font-weight: 600; }
  .score i { width: 8px; height: 8px; border-radius: 50%; background: #cbd5e1; }
  .score[data-verdict="ok"] { color: var(--rd-ok); } .score[data-verdict="ok"] i { background: #10b981; }
  .score[data-verdict="warn"] { color: var(--rd-warn); } .score[data-verdict="warn"] i { background: #f59e0b; }
  .score[data-verdict="block"] { color: var(--rd-bad); } .score[data-verdict="block"] i { background: #ef4444; }
  .count { margin-left: auto; font-variant-numeric: tabular-nums; font-weight: 600; }
  .count.over { color: var(--rd-bad); }
  .findings { list-style: none; margin: 8px 16px 0; padding: 0; display: grid; gap: 6px; max-height: 150px; overflow-y: auto; }
  .findings li { display: grid; grid-template-columns: 8px 1fr; gap: 8px; align-items: start; font-size: 12.5px;
    line-height: 1.4; padding: 7px 10px; border-radius: 10px; background: var(--rd-warn-soft); color: #78350f; cursor: default; }
  .findings li::before { content: ""; width: 8px; height: 8px; border-radius: 50%; margin-top: 5px; background: #f59e0b; }
  .findings li.sev-block { background: var(--rd-bad-soft); color: #7f1d1d; }
  .findings li.sev-block::before { background: #ef4444; }
  .findings li.sev-info { background: var(--rd-info-soft); color: #1e3a8a; }
  .findings li.sev-info::before { background: #3b82f6; }
  .findings.stale li { opacity: .45; }
  .findings .hint { display: block; color: inherit; opacity: .8; margin-top: 2px; white-space: pre-wrap; overflow-wrap: anywhere; }
  .findings li:focus-visible { outline: 2px solid var(--rd-accent); outline-offset: 1px; }
  .findings .sev-word { font-weight: 700; }
  .why { margin: 8px 16px 0; padding: 8px 10px; border-radius: 10px; background: var(--rd-bad-soft); color: #7f1d1d; font-size: 12.5px; }
  .why[hidden] { display: none; }
  .why ul { margin: 4px 0; padding-left: 18px; }
  .btn.anyway { background: var(--rd-bad); border-color: var(--rd-bad); }
  .error { margin: 10px 16px 0; padding: 9px 11px; border-radius: 10px; background: var(--rd-bad-soft); color: #7f1d1d;
    font-size: 12.5px; border: 1px solid #fecaca; }
  .error code { font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; background: #fff; padding: 1px 5px; border-radius: 4px; }
  .row { display: flex; gap: 8px; padding: 12px 16px 0; align-items: center; }
  .row.styles { padding-top: 8px; gap: 6px; }
  .btn { font: 600 13px/1 var(--rd-font); padding: 9px 12px; border-radius: 10px; border: 1px solid var(--rd-line);
    background: #fff; color: var(--rd-ink-2); cursor: pointer; display: inline-flex; align-items: center; gap: 6px;
    transition: background .15s, border-color .15s; }
  .btn:hover:not(:disabled) { background: var(--rd-soft); border-color: #cbd5e1; }
  .btn:focus-visible, .pill:focus-visible, .icon:focus-visible, .link:focus-visible { outline: 2px solid var(--rd-accent); outline-offset: 2px; }
  .btn:disabled, .pill:disabled { opacity: .45; cursor: not-allowed; }
  .btn.primary { background: var(--rd-accent); border-color: var(--rd-accent); color: #fff; }
  .btn.primary:hover:not(:disabled) { background: #4338ca; border-color: #4338ca; }
  .btn svg { width: 14px; height: 14px; }
  .row .grow { flex: 1; }
  .pill { font: 500 12px/1 var(--rd-font); padding: 6px 10px; border-radius: 999px; border: 1px solid var(--rd-line);
    background: var(--rd-soft); color: var(--rd-ink-2); cursor: pointer; }
  .pill:hover:not(:disabled) { border-color: var(--rd-accent-line); color: var(--rd-accent); background: var(--rd-accent-soft); }
  footer { display: flex; align-items: center; gap: 8px; margin-top: 12px; padding: 10px 16px; border-top: 1px solid var(--rd-line);
    background: var(--rd-soft); font-size: 11.5px; color: var(--rd-muted); }
  .link { font: 600 12px/1 var(--rd-font); border: 0; background: none; color: var(--rd-accent); cursor: pointer; padding: 4px 2px; margin-left: auto; }
  .link:hover:not(:disabled) { text-decoration: underline; }
  .link:disabled { color: var(--rd-muted); cursor: default; }
  .toast { position: absolute; left: 50%; bottom: 54px; transform: translateX(-50%); background: var(--rd-ink); color: #fff;
    font-size: 12px; font-weight: 600; padding: 7px 12px; border-radius: 8px; opacity: 0; transition: opacity .2s; pointer-events: none; white-space: nowrap; }
  .toast.show { opacity: 1; }
  .sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
`;

/** Attach styles to a shadow root: a constructed sheet where allowed, else a <style> element. */
// Emoji in color: where a system text font has monochrome emoji glyphs (DejaVu Sans on Linux) it would win over
// the color emoji font. A face of our own, limited to the emoji ranges and made only of fonts already installed,
// goes first in the panel's font stack. Added to the page's font set once (shadow roots use the document's).
const EMOJI_RANGES = "U+231A-231B, U+23E9-23F3, U+25FD-25FE, U+2600-27BF, U+2B1B-2B1C, U+2B50, U+2B55, "
  + "U+200D, U+FE0F, U+1F000-1FAFF";
let emojiFontAdded = false;

function addEmojiFont() {
  if (emojiFontAdded || typeof FontFace !== "function" || !document.fonts) return;
  emojiFontAdded = true;
  try {
    const face = new FontFace("Reply Desk Emoji",
      'local("Apple Color Emoji"), local("Segoe UI Emoji"), local("Noto Color Emoji"), local("NotoColorEmoji")',
      { unicodeRange: EMOJI_RANGES });
    document.fonts.add(face);
  } catch {
    // no such fonts here: the stack's own fallbacks apply
  }
}

export function applyStyles(root, css) {
  addEmojiFont();
  try {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(css);
    root.adoptedStyleSheets = [sheet];
  } catch {
    const style = document.createElement("style");
    style.textContent = css;
    root.append(style);
  }
}
