// Helpers the site adapters share. Pure DOM readers: no network, no extension APIs, so the adapters can be
// unit-tested by importing them into any page.

const BREAK = "\u0000";
const BLOCKS = new Set(["P", "DIV", "LI", "BLOCKQUOTE", "H1", "H2", "H3", "H4", "H5", "H6"]);

/** True when the element is rendered (not display:none / visibility:hidden). */
function rendered(el) {
  if (typeof el.checkVisibility === "function") {
    return el.checkVisibility({ checkVisibilityCSS: true });
  }
  const style = el.ownerDocument.defaultView.getComputedStyle(el);
  return style.display !== "none" && style.visibility !== "hidden";
}

/**
 * The text of `root` as the user sees it: emoji images become their alt text, hidden pieces (X hides the
 * "https://" of shortened links) are left out, <br> and block boundaries become line breaks, and controls such as
 * "See more" are skipped.
 */
export function visibleText(root, { skip = "[role=button], button" } = {}) {
  if (!root) return "";
  const checkVisible = rendered(root);
  const out = [];
  const walk = (node) => {
    for (let child = node.firstChild; child; child = child.nextSibling) {
      if (child.nodeType === 3) {
        out.push(child.data);
        continue;
      }
      if (child.nodeType !== 1) continue;
      const tag = child.tagName;
      if (tag === "BR") {
        out.push("\n");
        continue;
      }
      if (tag === "IMG") {
        out.push(child.getAttribute("alt") || "");
        continue;
      }
      if (tag === "SCRIPT" || tag === "STYLE" || tag === "svg" || tag === "SVG") continue;
      if (skip && child.matches(skip)) continue;
      if (checkVisible && !rendered(child)) continue;
      const block = BLOCKS.has(tag);
      if (block) out.push(BREAK);
      walk(child);
      if (block) out.push(BREAK);
    }
  };
  walk(root);
  // Adjacent block boundaries are one line break; the user's own <br>s stay.
  return tidy(out.join("").replace(/(?:[ \t]*\u0000[ \t]*)+/g, "\n"));
}

/** Collapse runs of spaces and blank lines the markup adds, keep the user's own line breaks. */
export function tidy(text) {
  return text
    .replace(/\u00a0/g, " ")
    .replace(/[ \t\r\f\v]+/g, " ")
    .replace(/ ?\n ?/g, "\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}

/** Elements under `root` matching `selector` that belong to `root` itself, not to a nested post or quote. */
export function own(root, selector, { nested = "[role=article]", exclude = [] } = {}) {
  return [...root.querySelectorAll(selector)].filter((node) => {
    const holder = node.parentElement && node.parentElement.closest(nested);
    if (holder && holder !== root && root.contains(holder)) return false;
    return !exclude.some((box) => box.contains(node));
  });
}

/** Seconds since 1970 (Facebook's data-utime) to ISO-8601 UTC with Z. */
export function isoFromSeconds(value) {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) return null;
  return new Date(n * 1000).toISOString().replace(".000Z", "Z");
}

/** A datetime attribute normalised to ISO-8601 UTC, or null when it is not a date. */
export function isoFromAttr(value) {
  if (!value) return null;
  const t = Date.parse(value);
  return Number.isNaN(t) ? null : new Date(t).toISOString();
}

/** Absolute URL of an href against the site's canonical origin. */
export function absolute(href, origin) {
  try {
    return new URL(href, origin).href;
  } catch {
    return null;
  }
}

/** A short stable id for posts whose page shows none: FNV-1a over the author and text. */
export function fallbackId(...parts) {
  let h = 0x811c9dc5;
  for (const ch of parts.join("\u0001")) {
    h ^= ch.codePointAt(0);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return `local-${h.toString(16)}`;
}

/** Lower-cased handles without "@", for comparisons. */
export function handleSet(handles) {
  return new Set((handles || []).map((h) => String(h).replace(/^@/, "").toLowerCase()).filter(Boolean));
}

/** Does the text mention any of the handles as @handle? */
export function mentions(text, handles) {
  const set = handleSet(handles);
  for (const m of String(text || "").matchAll(/@([A-Za-z0-9_.]{1,50})/g)) {
    if (set.has(m[1].toLowerCase().replace(/\.$/, ""))) return true;
  }
  return false;
}

/** Is the element on screen (rendered)? */
export function isShown(el) {
  return Boolean(el) && rendered(el);
}

/** The first element matching selector under root that is on screen (a hidden composer is not a reply box). */
export function shownBox(root, selector) {
  if (!root) return null;
  return [...root.querySelectorAll(selector)].find((el) => rendered(el)) || null;
}

/** Run `fn`, turning any exception into null: a page the adapter does not understand yields "no post found". */
export function safely(fn, ...args) {
  try {
    return fn(...args);
  } catch (err) {
    if (globalThis.console && globalThis.__replydeskDebug) console.warn("Reply Desk adapter:", err);
    return null;
  }
}
