// Facebook adapter: page posts and their comments, in today's markup (role="article" units, data-ad-* message
// blocks, comments labelled "Comment by NAME") and in the classic desktop markup (.userContent, abbr[data-utime]).
// Leans on structure, ARIA roles and data attributes, never on generated class names.
import {
  configure,
  embeddedPosts,
  FB_USERNAME,
  MODE,
  textBlocks,
  unitsEither,
  fallbackId,
  handleSet,
  isoFromAttr,
  isoFromSeconds,
  mentions,
  own,
  isShown,
  safely,
  shownBox,
  visibleText,
} from "./common.js";

export { configure };
export const platform = "facebook";
export const ORIGIN = "https://www.facebook.com";
const UNIT = '[role="article"], [aria-posinset], [data-testid="fbfeed_story"]';
const SHAPE = '[role="article"], [aria-posinset], article';
const MESSAGE = [
  '[data-ad-rendering-role="story_message"]',
  '[data-ad-preview="message"]',
  '[data-ad-comet-preview="message"]',
  ".userContent",
].join(", ");
const BOX = '[contenteditable="true"][role="textbox"], textarea[name="comment"], textarea[aria-label*="comment" i]';
const NOT_PROFILES = new Set([
  "posts", "photo", "photo.php", "photos", "permalink.php", "story.php", "watch", "events", "hashtag", "l.php",
  "ufi", "shares", "ajax", "share", "reel", "stories", "marketplace", "notifications", "search", "help", "login",
]);
const COMMENT_LABEL = /^(Comment|Reply) by\s+(.+?)(\s+to\s+.+'s comment)?(\s+\d+\s*\w+\s+ago)?$/i;

export function matches(loc) {
  return /(^|\.)facebook\.com$/.test(loc.hostname);
}

/** The message block that belongs to this unit itself, not to a comment or post nested in it. */
function ownMessage(el) {
  return (MODE.fast && own(el, MESSAGE, { nested: UNIT })[0]) || null;
}

/** A unit's own words by structure: its text blocks outside links, headings, buttons, nested units and shared
 * posts (a box with a time of its own). */
function ownBlocks(el) {
  if (!MODE.structural) return [];
  const shared = embeddedPosts(el, '[role="article"], article, blockquote');
  return textBlocks(el, { selector: '[dir="auto"], p', nested: SHAPE, exclude: shared })
    .filter((n) => !/^(See more|See translation|Sponsored|Write a comment|Like|Reply|Share)$/i.test(visibleText(n)));
}

/** Does the unit carry words of its own (fast: a message block; else by structure)? */
function hasWords(el) {
  return Boolean(ownMessage(el)) || ownBlocks(el).length > 0;
}

/** A comment (or a reply to one): labelled so, or nested inside a post that has words of its own. */
export function isComment(el) {
  if (COMMENT_LABEL.test(el.getAttribute("aria-label") || "")) return true;
  for (let up = el.parentElement && el.parentElement.closest(UNIT); up; up = up.parentElement && up.parentElement.closest(UNIT)) {
    if (hasWords(up)) return true;
  }
  return false;
}

/** Posts and comments under root. A feed unit that only wraps a post article is skipped (same post twice). */
export function findPosts(root = document) {
  const pick = (selector) => (r) => {
    const units = [...r.querySelectorAll(selector)];
    return units.filter((el) => {
      if (hasWords(el) || isComment(el)) return true;
      return !units.some((other) => other !== el && el.contains(other));
    });
  };
  return unitsEither(pick(UNIT), pick(SHAPE), root);
}

/** Profile handle from a link: the page or user name, or the numeric id. */
export function handleFromHref(href) {
  if (!href) return null;
  let u;
  try {
    u = new URL(href, ORIGIN);
  } catch {
    return null;
  }
  if (!/facebook\.com$/.test(u.hostname)) return null;
  const parts = u.pathname.split("/").filter(Boolean);
  if (parts[0] === "profile.php") return /^\d+$/.test(u.searchParams.get("id") || "") ? u.searchParams.get("id") : null;
  if (parts[0] === "people" && parts[2]) return parts[2];
  if (parts[0] === "groups" && parts[2] === "user" && parts[3]) return parts[3];
  if (!parts[0] || NOT_PROFILES.has(parts[0].toLowerCase()) || parts[0] === "groups") return null;
  return FB_USERNAME.test(parts[0]) ? parts[0] : null;
}

/** A one-segment facebook.com path that is not one of the site's own sections (a profile, by its shape). */
function profileShaped(href) {
  try {
    const u = new URL(href, ORIGIN);
    const parts = u.pathname.split("/").filter(Boolean);
    return /facebook\.com$/.test(u.hostname) && parts.length === 1 && !NOT_PROFILES.has(parts[0].toLowerCase());
  } catch {
    return false;
  }
}

function inside(node, selector, root) {
  const hit = node.parentElement && node.parentElement.closest(selector);
  return Boolean(hit && hit !== root && root.contains(hit));
}

/** Who wrote a post or comment. */
function readAuthor(el, comment) {
  let unnamed = null;
  const selectors = comment
    ? ["a[href]"]
    : [
      ...(MODE.fast ? ['[data-ad-rendering-role="profile_name"] a[href]'] : []),
      "h2 a[href]",
      "h3 a[href]",
      "h4 a[href]",
      "h5 a[href]",
      "strong a[href]",
      "a[href] strong",
      ...(MODE.structural ? ["a[href]"] : []),
    ];
  for (const sel of selectors) {
    for (let a of own(el, sel)) {
      if (a.tagName !== "A") a = a.closest("a");
      const name = visibleText(a);
      const handle = handleFromHref(a.getAttribute("href"));
      if (!name || /^\d+\s*\w{0,3}$/.test(name)) continue;
      if (handle) return { handle, name };
      // A profile link whose path is no username Facebook allows: the name is still the author's.
      if (!unnamed && profileShaped(a.getAttribute("href"))) unnamed = { handle: null, name };
    }
  }
  if (unnamed) return unnamed;
  const label = (el.getAttribute("aria-label") || "").match(COMMENT_LABEL);
  if (label) return { handle: null, name: label[2] };
  const img = own(el, 'img[aria-label][role="img"], svg[aria-label][role="img"]')[0];
  return { handle: null, name: img ? img.getAttribute("aria-label") : null };
}

/** The element holding a post's or comment's own words. */
export function textElement(el) {
  return safely(() => {
    if (!isComment(el)) return ownMessage(el) || ownBlocks(el)[0] || null;
    const candidates = own(el, 'div[dir="auto"], span[dir="auto"]').filter(
      (n) => !inside(n, "a, [role=button], h2, h3, h4, ul", el) && visibleText(n),
    );
    const top = candidates.filter((n) => !candidates.some((o) => o !== n && o.contains(n)));
    const author = readAuthor(el, true);
    return top.find((n) => visibleText(n) !== author.name) || null;
  });
}

const POST_LINK = /\/(posts|permalink|videos|photos)\/([\w.-]+)|[?&](story_fbid|fbid)=([\w-]+)/;

/** Canonical link and id of a post: the link around its timestamp, else any permalink-looking link. */
function readPermalink(el) {
  const stamp = own(el, "abbr[data-utime], time[datetime]")[0];
  const links = own(el, "a[href]").filter((a) => !/[?&]comment_id=/.test(a.getAttribute("href")));
  const preferred = stamp && stamp.closest("a[href]");
  const link = [preferred, ...links].find((a) => a && POST_LINK.test(a.getAttribute("href")));
  let url = null;
  let id = null;
  if (link) {
    const u = new URL(link.getAttribute("href"), ORIGIN);
    const m = (u.pathname + u.search).match(POST_LINK);
    id = m[2] || m[4];
    const keep = new URLSearchParams();
    for (const k of ["story_fbid", "fbid", "id"]) if (u.searchParams.get(k)) keep.set(k, u.searchParams.get(k));
    url = `${ORIGIN}${u.pathname}${keep.toString() ? `?${keep}` : ""}`;
  }
  if (!id) {
    for (const a of own(el, 'a[href*="ft_ent_identifier="]')) {
      const m = a.getAttribute("href").match(/ft_ent_identifier=(\d+)/);
      if (m) {
        id = m[1];
        break;
      }
    }
  }
  let created_at = null;
  if (stamp) {
    created_at = stamp.hasAttribute("data-utime")
      ? isoFromSeconds(stamp.getAttribute("data-utime"))
      : isoFromAttr(stamp.getAttribute("datetime"));
  }
  return { url, id, created_at };
}

/** A comment's id and link: its timestamp link carries comment_id (a number, or base64 "comment:POST_ID"). */
function readCommentLink(el) {
  const links = own(el, 'a[href*="comment_id="]');
  const stampLink = links.find((a) => POST_LINK.test(a.getAttribute("href"))) || links[0];
  if (!stampLink) return { url: null, id: null, created_at: null };
  const u = new URL(stampLink.getAttribute("href"), ORIGIN);
  let id = u.searchParams.get("reply_comment_id") || u.searchParams.get("comment_id");
  if (id && !/^\d+$/.test(id)) {
    try {
      const decoded = atob(id);
      const m = decoded.match(/_(\d+)$/);
      if (m) id = m[1];
    } catch {
      // not base64: keep it as is
    }
  }
  const keep = new URLSearchParams({ comment_id: u.searchParams.get("comment_id") });
  if (u.searchParams.get("reply_comment_id")) keep.set("reply_comment_id", u.searchParams.get("reply_comment_id"));
  const time = own(el, "abbr[data-utime], time[datetime]")[0];
  const created_at = time
    ? (time.hasAttribute("data-utime") ? isoFromSeconds(time.getAttribute("data-utime"))
      : isoFromAttr(time.getAttribute("datetime")))
    : null;
  return { url: `${ORIGIN}${u.pathname}?${keep}`, id, created_at };
}

/** A post's words: its message block, or (by structure) its own text blocks, one line each. */
function readText(el, comment) {
  if (comment) return visibleText(textElement(el));
  const message = ownMessage(el);
  if (message) return visibleText(message);
  return ownBlocks(el).map((n) => visibleText(n)).join("\n").trim();
}

function readOne(el) {
  const comment = isComment(el);
  const text = readText(el, comment);
  if (!text) return null;
  const author = readAuthor(el, comment);
  if (!author.name && !author.handle) return null;
  const { url, id, created_at } = comment ? readCommentLink(el) : readPermalink(el);
  const to = comment ? [] : postedTo(el, author);
  return {
    platform,
    post_id: id || fallbackId(author.handle || author.name, text),
    url,
    author,
    text,
    created_at,
    kind: comment ? "comment" : "post",
    ...(to.length ? { to } : {}),
  };
}

/** A visitor post's header names where it was posted ("Linda Wu ▸ Acme Shop"): the other profiles linked there. */
function postedTo(el, author) {
  const header = own(el, '[data-ad-rendering-role="profile_name"], h2, h3, h4')[0];
  if (!header) return [];
  const out = [];
  for (const a of header.querySelectorAll("a[href]")) {
    const h = handleFromHref(a.getAttribute("href"));
    if (h && h !== author.handle && !out.includes(h)) out.push(h);
  }
  return out;
}

/** The post a comment answers (and, for a reply, the comment it answers), oldest first. */
function threadOf(el) {
  if (!isComment(el)) return [];
  const items = [];
  const unit = el.parentElement.closest(UNIT);
  let root = unit;
  while (root && isComment(root) && root.parentElement) root = root.parentElement.closest(UNIT) || root;
  const item = (p) => ({ author: p.author, text: p.text, created_at: p.created_at, url: p.url });
  const rootPost = root && !isComment(root) ? safely(readOne, root) : null;
  if (rootPost) items.push(item(rootPost));
  const li = el.closest("li");
  const parentLi = li && li.parentElement && li.parentElement.closest("li");
  const parentComment = parentLi && parentLi.querySelector('[role="article"]');
  if (parentComment && parentComment !== el && !parentComment.contains(el)) {
    const p = safely(readOne, parentComment);
    if (p) items.push(item(p));
  } else if (unit && unit !== root && isComment(unit)) {
    const p = safely(readOne, unit);
    if (p) items.push(item(p));
  }
  return items;
}

/** The Post of docs/DESIGN.md for a post or comment element, or null ("no post found"). Never throws. */
export function readPost(el) {
  return safely(() => {
    const post = readOne(el);
    if (!post) return null;
    const thread = threadOf(el);
    if (thread.length) post.thread = thread;
    return post;
  });
}

function controlNamed(el, names, { exact = true } = {}) {
  const want = names.map((n) => n.toLowerCase());
  return own(el, '[role="button"], button, a').find((n) => {
    const label = (n.getAttribute("aria-label") || n.getAttribute("title") || visibleText(n) || "").toLowerCase();
    return exact ? want.includes(label) : want.some((w) => label.startsWith(w));
  }) || null;
}

/** Where the "Suggest reply" control goes: the row with Like / Comment (posts) or Like / Reply (comments). */
export function actionBar(el) {
  return safely(() => {
    if (isComment(el)) {
      const reply = controlNamed(el, ["reply"]);
      if (!reply) return null;
      const row = reply.closest("ul") || reply.parentElement;
      return el.contains(row) ? row : reply.parentElement;
    }
    const comment = controlNamed(el, ["leave a comment", "comment", "write a comment"]);
    if (!comment) return null;
    let row = comment.parentElement;
    while (row && row !== el && !controlNamed(row, ["like"])) row = row.parentElement;
    return row && row !== el ? row : comment.parentElement;
  });
}

/** The site's comment box for this post or comment, when it is open. */
export function replyBox(el) {
  return safely(() => {
    const score = (box) => {
      const label = (box.getAttribute("aria-label") || box.getAttribute("placeholder") || "").toLowerCase();
      return /reply/.test(label) ? 1 : 0;
    };
    if (isComment(el)) {
      const li = el.closest("li");
      const boxes = li ? [...li.querySelectorAll(BOX)].filter((b) => !el.contains(b) && isShown(b)) : [];
      if (boxes.length) return boxes[0];
      const unit = el.parentElement.closest(UNIT);
      return unit ? shownBox(unit, BOX) : null;
    }
    const boxes = [...el.querySelectorAll(BOX)].filter(isShown)
      .sort((a, b) => score(a) - score(b));
    return boxes[0] || null;
  });
}

/** Open the box the site's own way: its Comment (post) or Reply (comment) control. */
export function openReply(el) {
  const control = isComment(el)
    ? controlNamed(el, ["reply"])
    : controlNamed(el, ["leave a comment", "comment", "write a comment"]);
  if (control) control.click();
  return Boolean(control);
}

/** Facebook sends comments with Enter; some layouts also show a send button next to the box. */
export function sendButton(box) {
  let node = box.parentElement;
  for (let i = 0; node && i < 4; i++, node = node.parentElement) {
    const b = node.querySelector('[aria-label="Comment"][role="button"]:not([aria-expanded]), [aria-label="Post comment"], [aria-label="Send"], button[type="submit"]');
    if (b && !b.contains(box)) return b;
    if (node.tagName === "FORM") break;
  }
  return null;
}

export function isBrand(post, handles) {
  return Boolean(post && post.author && handleSet(handles).has(String(post.author.handle || "").toLowerCase()));
}

function pageHandle(loc) {
  if (!loc) return null;
  const first = loc.pathname.split("/").filter(Boolean)[0] || "";
  if (first === "profile.php") return new URLSearchParams(loc.search).get("id");
  return first || null;
}

/** Addressed to the brand: on the brand's page, a comment under the brand's post, or a mention. */
export function addressedTo(post, handles, loc) {
  if (!post) return false;
  const set = handleSet(handles);
  const page = pageHandle(loc);
  if (page && set.has(page.toLowerCase())) return true;
  if (mentions(post.text, handles)) return true;
  if ((post.to || []).some((h) => set.has(String(h).toLowerCase()))) return true;
  const root = (post.thread || [])[0];
  return Boolean(root && set.has(String(root.author?.handle || "").toLowerCase()));
}

/** Did the brand answer: a comment (on a post) or a reply (on a comment) from one of its handles. */
export function answeredByBrand(el, handles) {
  return Boolean(safely(() => {
    const set = handleSet(handles);
    const scope = isComment(el) ? el.closest("li") || el : el;
    for (const other of scope.querySelectorAll('[role="article"]')) {
      if (other === el || other.contains(el) || !isComment(other)) continue;
      const author = readAuthor(other, true);
      if (set.has(String(author.handle || "").toLowerCase())) return true;
    }
    return false;
  }));
}

/** The brand's own page (its posts and the comments under them) is watched. */
export function monitoredPage(loc, handles) {
  const page = pageHandle(loc);
  return Boolean(page && handleSet(handles).has(page.toLowerCase()));
}
