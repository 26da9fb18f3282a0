// "Report this page": an anonymised skeleton of the page, so a layout the adapters cannot read can become a test
// fixture without anything personal in it. Kept: tags, roles, test ids, class names, the names of attributes and
// the values of a few structural ones (dir, lang, contenteditable, aria-* states). Replaced: every text by its
// length, every label-like attribute by its length, links by their shape ("/*/status/#"). A test id or class name
// part that is also a word of the page's text (a handle in "UserAvatar-Container-<handle>") becomes "*".

const MAX_NODES = 20000;
const MAX_DEPTH = 120;
const SKIP = new Set(["SCRIPT", "STYLE", "NOSCRIPT", "TEMPLATE", "IFRAME", "REPLYDESK-CONTROL", "REPLYDESK-PANEL"]);
// Attributes whose values say how the page is built, not who is on it (kept when they are short words).
const STRUCTURAL = new Set([
  "role", "dir", "contenteditable", "type", "tabindex", "hidden", "aria-hidden", "aria-expanded", "aria-haspopup",
  "aria-selected", "aria-checked", "aria-disabled", "aria-multiline", "aria-level", "aria-posinset", "aria-setsize",
  "aria-modal", "data-ad-preview", "data-ad-rendering-role", "data-ad-comet-preview", "data-pagelet", "lang",
]);
// Attributes that may hold words the page shows or links to its people: only their length is kept.
const TEXTUAL = new Set(["aria-label", "title", "alt", "placeholder", "aria-description", "value", "content", "name"]);
const LINKS = new Set(["href", "src", "action", "srcset", "data-href"]);
// Path words that are the site's own (kept in link shapes); every other segment is "*" (or "#" for digits).
const SITE_WORDS = new Set([
  "status", "photo", "photos", "video", "videos", "posts", "permalink.php", "story.php", "profile.php", "groups",
  "user", "people", "hashtag", "search", "notifications", "mentions", "explore", "i", "lists", "comments", "watch",
  "reel", "analytics", "retweets", "likes", "quotes", "home", "messages", "events", "pages", "media", "with_replies",
]);

/** A link's shape: its path with every segment not in SITE_WORDS starred, its query keys without values. */
export function linkShape(value, base) {
  try {
    const u = new URL(value, base);
    const path = u.pathname.split("/").map((seg) => {
      if (!seg) return seg;
      if (/^\d+$/.test(seg)) return "#";
      return SITE_WORDS.has(seg.toLowerCase()) ? seg : "*";
    }).join("/");
    const keys = [...new Set([...u.searchParams.keys()])].map((k) => (/^[a-z_]{1,30}$/i.test(k) ? k : "*"));
    const host = /(^|\.)(x|twitter|facebook)\.com$/.test(u.hostname) ? u.hostname : "*";
    return `${u.protocol === "data:" ? "data:" : `//${host}`}${path}${keys.length ? `?${keys.join("&")}` : ""}`;
  } catch {
    return "*";
  }
}

/** Every word (3+ letters or digits) of the page's text and label attributes, lower-cased. */
function pageWords(root) {
  const words = new Set();
  const add = (text) => {
    for (const w of String(text || "").toLowerCase().match(/[\p{L}\p{N}_.]{3,}/gu) || []) {
      words.add(w);
      for (const part of w.split(/[._]/)) if (part.length >= 3) words.add(part);
    }
  };
  const walker = root.ownerDocument.createTreeWalker(root, NodeFilter.SHOW_TEXT | NodeFilter.SHOW_ELEMENT);
  for (let n = walker.currentNode; n; n = walker.nextNode()) {
    if (n.nodeType === 3) add(n.data);
    else for (const a of TEXTUAL) if (n.hasAttribute && n.hasAttribute(a)) add(n.getAttribute(a));
  }
  for (const a of root.querySelectorAll("a[href]")) add(decodeURIComponent(a.getAttribute("href") || "").replace(/[/?=&#:]/g, " "));
  return words;
}

/** A test id or class name with every part that is a word of the page starred. */
function scrub(value, words) {
  return value.split(/([-_\s:]+)/).map((part) => (words.has(part.toLowerCase()) ? "*" : part)).join("");
}

function attrsOf(el, words, base) {
  const out = {};
  for (const { name, value } of el.attributes) {
    if (name === "id" || name === "style" || name.startsWith("on")) continue;
    if (name === "class") {
      const cls = value.split(/\s+/).filter(Boolean).map((c) => scrub(c, words));
      if (cls.length) out.class = cls.join(" ");
    } else if (name === "data-testid") {
      out[name] = scrub(value, words);
    } else if (LINKS.has(name)) {
      out[name] = linkShape(value, base);
    } else if (TEXTUAL.has(name)) {
      out[name] = value.length;
    } else if (STRUCTURAL.has(name) && /^[\w-]{0,40}$/.test(value) && !words.has(value.toLowerCase())) {
      out[name] = value;
    } else {
      out[name] = value === "" ? "" : value.length; // its presence is structure; its value may not be
    }
  }
  return out;
}

/**
 * The skeleton of `root` (document.body by default): {tag, attrs?, c?: [child...]}, where a child is an element's
 * skeleton or a number, the length of a text. `counts` says how many nodes were kept and whether it was cut short.
 */
export function skeleton(root = document.body) {
  const words = pageWords(root);
  const base = root.ownerDocument.location.href;
  let nodes = 0;
  let truncated = false;
  const walk = (el, depth) => {
    nodes += 1;
    const node = { tag: el.tagName.toLowerCase() };
    const attrs = attrsOf(el, words, base);
    if (Object.keys(attrs).length) node.attrs = attrs;
    if (el.tagName === "svg" || el.tagName === "SVG") return node; // icons: the tag says enough
    const kids = [];
    for (let child = el.firstChild; child; child = child.nextSibling) {
      if (nodes >= MAX_NODES || depth >= MAX_DEPTH) {
        truncated = true;
        break;
      }
      if (child.nodeType === 3) {
        const len = child.data.trim().length;
        if (len) kids.push(len);
      } else if (child.nodeType === 1 && !SKIP.has(child.tagName)) {
        kids.push(walk(child, depth + 1));
      }
    }
    if (kids.length) node.c = kids;
    return node;
  };
  const tree = walk(root, 0);
  return { tree, nodes, truncated };
}

/** The page's path with its people starred ("/*\/status/#"). */
export function pageShape(loc) {
  return linkShape(loc.pathname + loc.search, loc.origin).replace(/^\/\/[^/]*/, "");
}
