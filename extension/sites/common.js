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

// ---------------------------------------------------------------- reading modes: fast selectors, structure

/**
 * How the adapters read a page: `fast` = the site-specific selectors (data-testid, data-ad-*, classic class
 * names); `structural` = the fallback that finds posts by their shape (an article-like unit with an author link, a
 * time and text blocks) when the fast selectors miss. Both on by default; the tests switch the fast path off to
 * prove the fallback alone reads every saved page.
 */
export const MODE = { fast: true, structural: true };

/** Set the reading mode (a missing key keeps its value). Returns the mode in force. */
export function configure(opts = {}) {
  for (const k of ["fast", "structural"]) if (typeof opts[k] === "boolean") MODE[k] = opts[k];
  return { ...MODE };
}

/** Try the fast reader, then the structural one, as the mode allows. */
export function readEither(fast, structural, el) {
  const a = MODE.fast ? safely(fast, el) : null;
  if (a) return a;
  return MODE.structural ? safely(structural, el) : null;
}

/** The units the fast finder and the structural finder see, in document order, one element per post. */
export function unitsEither(fast, structural, root) {
  const seen = MODE.fast ? safely(fast, root) || [] : [];
  if (!MODE.structural) return seen;
  const more = (safely(structural, root) || []).filter((el) => !seen.some((f) => f === el || f.contains(el) || el.contains(f)));
  if (!more.length) return seen;
  return [...seen, ...more].sort((a, b) => (a.compareDocumentPosition(b) & 4 ? -1 : 1));
}

// Handles as the sites allow them. X: letters, digits and underscore, 1 to 15. Facebook usernames: letters,
// digits and dots, at least 5 (profile.php?id=<digits> for profiles without one).
export const X_HANDLE = /^[A-Za-z0-9_]{1,15}$/;
export const FB_USERNAME = /^[A-Za-z0-9.]{5,50}$/;

/** Elements under `root`, not inside `exclude` boxes or nested units, not inside links, buttons or headings. */
export function textBlocks(root, { selector = '[lang], [dir="auto"], p', nested = "[role=article], article", exclude = [],
  chrome = 'a, button, [role="button"], [role="group"], [role="link"], h1, h2, h3, h4, h5, h6, strong, time' } = {}) {
  const found = own(root, selector, { nested, exclude }).filter((n) => {
    const up = n.parentElement && n.parentElement.closest(chrome);
    if ((up && root.contains(up) && up !== root) || n.matches(chrome)) return false;
    if (n.querySelector("time, abbr[data-utime]")) return false;
    return Boolean(visibleText(n));
  });
  return found.filter((n) => !found.some((o) => o !== n && o.contains(n)));
}

/** Boxes inside a unit that hold a post of their own (a quoted or shared post): they carry their own time. */
export function embeddedPosts(unit, boxes = '[role="link"]:not(a), blockquote, article, [role="article"]') {
  const out = [];
  for (const box of unit.querySelectorAll(boxes)) {
    if (box === unit || out.some((b) => b.contains(box))) continue;
    if (box.querySelector("time[datetime], abbr[data-utime]")) out.push(box);
  }
  return out;
}
