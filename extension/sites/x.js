// X / Twitter adapter: reads tweets on the timeline, search, notifications and tweet-detail views into the Post
// of docs/DESIGN.md. Leans on ARIA roles and data-testid attributes, never on X's generated class names.
import {
  configure, embeddedPosts, handleSet, isoFromAttr, MODE, mentions, own, readEither, safely, shownBox, textBlocks,
  unitsEither, visibleText, X_HANDLE,
} from "./common.js";

export { configure };

export const platform = "x";
export const ORIGIN = "https://x.com";
const TWEET = 'article[data-testid="tweet"], article[role="article"]:has([data-testid="tweetText"])';
// A status path: the first segment is whatever the page shows (the id is what counts), the handle is checked apart.
const STATUS = /^\/([^/?#]{1,50})\/status\/(\d+)/;
const UNIT = 'article, [role="article"]';
const NOT_HANDLES = new Set(["home", "explore", "search", "notifications", "messages", "i", "settings", "hashtag",
  "compose", "intent", "share", "login", "signup", "tos", "privacy", "lists", "communities"]);
const BOX = '[data-testid^="tweetTextarea_"][contenteditable="true"], [data-testid^="tweetTextarea_"] [contenteditable="true"], textarea[data-testid^="tweetTextarea_"]';
const ANY_BOX = '[contenteditable="true"][role="textbox"], textarea';
const SEND = '[data-testid="tweetButton"], [data-testid="tweetButtonInline"]';
const MAX_THREAD = 20;

/** Does this adapter serve the page? */
export function matches(loc) {
  return /(^|\.)(x|twitter)\.com$/.test(loc.hostname);
}

const outermost = (all) => all.filter((el) => !el.parentElement || !el.parentElement.closest(UNIT));

/** Every tweet element under root (outermost articles only; a quoted tweet is part of its article): the fast
 * selectors first, then every other article-like unit, which the structural reader tries. */
export function findPosts(root = document) {
  return unitsEither((r) => outermost([...r.querySelectorAll(TWEET)]), (r) => outermost([...r.querySelectorAll(UNIT)]), root);
}

/** A handle as X allows it, from "@name" text or a profile link's path; else null. */
export function handleOf(text) {
  const h = String(text || "").trim().replace(/^@/, "");
  return X_HANDLE.test(h) && !NOT_HANDLES.has(h.toLowerCase()) ? h : null;
}

/** The one path segment of a profile-shaped link (x.com/<something>), whatever X allows, or null. */
function profileSegment(a) {
  try {
    const u = new URL(a.getAttribute("href"), ORIGIN);
    if (!/(^|\.)(x|twitter)\.com$/.test(u.hostname) && u.origin !== a.ownerDocument.location.origin) return null;
    const parts = u.pathname.split("/").filter(Boolean);
    return parts.length === 1 && !NOT_HANDLES.has(parts[0].toLowerCase()) ? parts[0] : null;
  } catch {
    return null;
  }
}

/** The handle a profile link points at (x.com/<handle>), or null. */
function linkHandle(a) {
  return handleOf(profileSegment(a));
}

/** The quoted tweets inside an article: containers holding a second User-Name. */
function quoteRoots(article) {
  const names = [...article.querySelectorAll('[data-testid="User-Name"]')];
  if (names.length < 2) return [];
  const main = names[0];
  const roots = [];
  for (const un of names.slice(1)) {
    if (roots.some((r) => r.contains(un))) continue;
    let box = un.parentElement && un.parentElement.closest('[role="link"]:not(a)');
    if (!box || !article.contains(box) || box.contains(main)) {
      box = un;
      while (box.parentElement && box.parentElement !== article && !box.parentElement.contains(main)) {
        box = box.parentElement;
      }
    }
    roots.push(box);
  }
  return roots;
}

/** Author name and handle from a User-Name block. */
function readAuthor(userName) {
  if (!userName) return { handle: null, name: null };
  let handle = null;
  let name = null;
  for (const piece of userName.querySelectorAll("span, div[dir]")) {
    const text = visibleText(piece);
    if (!handle && text.startsWith("@")) handle = handleOf(text);
  }
  const links = [...userName.querySelectorAll("a[href]")];
  for (const a of links) {
    const text = visibleText(a);
    if (text && !text.startsWith("@")) {
      name = text;
      break;
    }
  }
  if (!name) {
    const first = userName.querySelector("span");
    name = first ? visibleText(first) || null : null;
  }
  if (!handle) {
    const a = links.find((l) => linkHandle(l));
    if (a) handle = linkHandle(a);
  }
  return { handle, name };
}

/** The permalink of a tweet block: the status link around its <time>, else the first status link. */
function readPermalink(scope, exclude) {
  const time = own(scope, "time[datetime]", { nested: "article", exclude })[0] || null;
  let link = time && time.closest('a[href*="/status/"]');
  if (!link) {
    link = own(scope, 'a[href*="/status/"]', { nested: "article", exclude }).find((a) => {
      const path = new URL(a.getAttribute("href"), ORIGIN).pathname;
      return STATUS.test(path) && !/\/(photo|video|analytics|retweets|likes|quotes)\b/.test(path);
    });
  }
  let url = null;
  let id = null;
  if (link) {
    const u = new URL(link.getAttribute("href"), ORIGIN);
    const m = u.pathname.match(STATUS);
    if (m) {
      id = m[2];
      url = `${ORIGIN}/${m[1]}/status/${m[2]}`;
    }
  }
  return { url, id, created_at: time ? isoFromAttr(time.getAttribute("datetime")) : null };
}

/** The block a quoted tweet shows, as a thread item. */
function readQuote(box) {
  const author = readAuthor(box.querySelector('[data-testid="User-Name"]'));
  const text = visibleText(box.querySelector('[data-testid="tweetText"]'));
  const { url, created_at } = readPermalink(box, []);
  const time = box.querySelector("time[datetime]");
  return {
    author,
    text,
    created_at: created_at || (time ? isoFromAttr(time.getAttribute("datetime")) : null),
    url,
    kind: "quote",
  };
}

/** Handles shown in a "Replying to @a @b" line. */
function replyingTo(article, exclude) {
  const out = [];
  for (const el of own(article, "div, span", { nested: "article", exclude })) {
    if (el.children.length > 6) continue;
    const text = (el.textContent || "").trim();
    if (!/^Replying to\b/.test(text)) continue;
    for (const a of el.querySelectorAll("a")) {
      const h = visibleText(a).replace(/^@/, "");
      if (h && !out.includes(h)) out.push(h);
    }
    if (out.length) break;
  }
  return out;
}

/** Read one tweet into a Post by X's own test ids, without its thread. Null when they are not there. */
function readFast(article) {
  const quotes = quoteRoots(article);
  const opts = { nested: "article", exclude: quotes };
  const userName = own(article, '[data-testid="User-Name"]', opts)[0];
  const textEl = own(article, '[data-testid="tweetText"]', opts)[0];
  if (!userName || !textEl) return null;
  const text = visibleText(textEl);
  const author = readAuthor(userName);
  if (!text || !(author.handle || author.name)) return null;
  return assemble(article, { author, text, lang: textEl.getAttribute("lang"), quotes,
    quoted: quotes.length ? readQuote(quotes[0]) : null });
}

/** The Post from what a reader found: the permalink, "Replying to", the quoted tweet. */
function assemble(article, { author, text, lang, quotes, quoted }) {
  const { url, id, created_at } = readPermalink(article, quotes);
  const post = {
    platform,
    post_id: id,
    url,
    author,
    text,
    created_at,
  };
  if (lang && lang !== "und") post.lang = lang;
  const to = replyingTo(article, quotes);
  if (to.length) post.reply_to = to;
  if (quoted) post.quoted = quoted;
  return post;
}

/** The author by structure: the first profile link with words in it (the name); the handle from its path or
 * from an "@handle" shown beside it. */
function structuralAuthor(scope, exclude) {
  const links = own(scope, "a[href]", { nested: "article", exclude }).filter((a) => profileSegment(a))
    .filter((a) => !a.closest("[lang]") || !scope.contains(a.closest("[lang]"))); // a mention in the text is not the author
  const shown = links.filter((a) => a.textContent.trim()); // an avatar's only words are an image's alt text
  const named = shown.find((a) => !visibleText(a).startsWith("@"));
  const at = shown.find((a) => visibleText(a).startsWith("@") && (!named || profileSegment(a) === profileSegment(named)));
  const first = named || at || links[0];
  if (!first) return { handle: null, name: null };
  return { handle: linkHandle(first), name: named ? visibleText(named) : null };
}

/** The words of a unit by structure: its language-tagged (or dir=auto) blocks outside links, buttons and quotes. */
function structuralText(scope, exclude, author) {
  const blocks = textBlocks(scope, { exclude, nested: "article" })
    .filter((n) => { const t = visibleText(n); return t !== author.name && t !== `@${author.handle}` && t !== "·"; });
  const tagged = blocks.filter((n) => n.hasAttribute("lang"));
  const pick = tagged.length ? tagged : blocks.filter((n) => !/^(Replying to|Quote|Show more)\b/.test(visibleText(n)));
  return { text: pick.map((n) => visibleText(n)).join("\n").trim(), lang: pick[0] ? pick[0].getAttribute("lang") : null };
}

/** Read a tweet by its shape: an article with a profile link, a time and text blocks; a box inside it with a time
 * of its own is a quoted tweet (context, not text). */
function readStructural(article) {
  const quotes = embeddedPosts(article);
  const author = structuralAuthor(article, quotes);
  if (!(author.handle || author.name)) return null;
  if (!own(article, "time[datetime]", { nested: "article", exclude: quotes }).length) return null;
  const { text, lang } = structuralText(article, quotes, author);
  if (!text) return null;
  let quoted = null;
  if (quotes.length) {
    const q = quotes[0];
    const qa = structuralAuthor(q, []);
    const words = shownWords(q);
    const qHandle = qa.handle || words.map((w) => (w.startsWith("@") ? handleOf(w) : null)).find(Boolean) || null;
    const qName = qa.name || words.find((w) => !w.startsWith("@") && w !== "·") || null;
    const time = q.querySelector("time[datetime]");
    quoted = { author: { handle: qHandle, name: qName }, text: structuralText(q, [], { name: qName, handle: qHandle }).text,
      created_at: time ? isoFromAttr(time.getAttribute("datetime")) : null, url: readPermalink(q, []).url, kind: "quote" };
  }
  return assemble(article, { author, text, lang, quotes, quoted });
}

/** The bits of text a box shows before its text blocks (name, @handle, "·"), in order. */
function shownWords(box) {
  const out = [];
  const walker = box.ownerDocument.createTreeWalker(box, 4);
  for (let node = walker.nextNode(); node && out.length < 6; node = walker.nextNode()) {
    const holder = node.parentElement;
    const skip = holder && holder.closest("[lang], time, button, [role=button]");
    if (!holder || (skip && box.contains(skip))) continue;
    const t = node.data.trim();
    if (t) out.push(t);
  }
  return out;
}

/** One tweet, without its thread: X's test ids first, its shape when they miss. */
function readOne(article) {
  return readEither(readFast, readStructural, article);
}

/** The conversation the tweet sits in: X's conversation timeline, or the page on a tweet-detail URL. */
function conversation(article) {
  const region = article.closest('[aria-label^="Timeline: Conversation"], [data-replydesk-conversation]');
  if (region) return region;
  const loc = article.ownerDocument.defaultView.location;
  return STATUS.test(loc.pathname) ? article.ownerDocument : null;
}

/** Tweets above this one in its conversation, oldest first, as thread items. Below the focal tweet of a detail
 * page, the context is the focal tweet and what is above it, not the sibling replies. */
function threadOf(article) {
  const region = conversation(article);
  if (!region) return [];
  const focal = (article.ownerDocument.defaultView.location.pathname.match(STATUS) || [])[2];
  const items = [];
  let focalIndex = -1;
  for (const other of findPosts(region)) {
    if (other === article) break;
    const p = safely(readOne, other);
    if (!p) continue;
    items.push({ author: p.author, text: p.text, created_at: p.created_at, url: p.url });
    if (focal && p.post_id === focal) focalIndex = items.length - 1;
  }
  const upTo = focalIndex >= 0 ? items.slice(0, focalIndex + 1) : items;
  return upTo.slice(-MAX_THREAD);
}

/** The Post of docs/DESIGN.md for a tweet element, or null ("no post found"). Never throws. */
export function readPost(article) {
  return safely(() => {
    const post = readOne(article);
    if (!post) return null;
    const thread = threadOf(article);
    if (post.quoted) thread.push(post.quoted);
    if (thread.length) post.thread = thread;
    return post;
  });
}

/** Where the "Suggest reply" control goes: the tweet's own action bar (reply, repost, like...). */
export function actionBar(article) {
  return safely(() => {
    let groups = own(article, '[role="group"]', { nested: "article", exclude: quoteRoots(article) });
    // A quoted tweet has no action bar of its own: a bar that sits inside the quote's box is the tweet's.
    if (!groups.length) groups = own(article, '[role="group"]', { nested: "article" });
    const bar = groups.reverse().find((g) => g.querySelector('[data-testid="reply"], [data-testid="like"]'));
    return bar || groups[0] || null;
  });
}

function cellOf(article) {
  return article.closest('[data-testid="cellInnerDiv"]') || article.parentElement;
}

/** The site's reply box for this tweet when it is open: in the tweet's cell, just below it, or in the dialog. */
export function replyBox(article) {
  return safely(() => {
    const cell = cellOf(article);
    const box = () => (MODE.fast ? BOX : ANY_BOX);
    const inCell = shownBox(cell, box());
    if (inCell) return inCell;
    let next = cell && cell.nextElementSibling;
    for (let i = 0; next && i < 2; i++, next = next.nextElementSibling) {
      if (next.querySelector(MODE.fast ? TWEET : UNIT)) break;
      const found = shownBox(next, box());
      if (found) return found;
    }
    // X's reply dialog shows the tweet it answers: a dialog about another tweet is not this tweet's box.
    const dialog = article.ownerDocument.querySelector('[role="dialog"]');
    if (!dialog) return null;
    const id = readPermalink(article, quoteRoots(article)).id;
    const ids = [...dialog.querySelectorAll('a[href*="/status/"]')]
      .map((a) => (new URL(a.getAttribute("href"), ORIGIN).pathname.match(STATUS) || [])[2])
      .filter(Boolean);
    if (id && ids.length && !ids.includes(id)) return null;
    return shownBox(dialog, box());
  });
}

/** Open the reply box the site's own way: its Reply button. */
export function openReply(article) {
  const button = own(article, '[data-testid="reply"]', { nested: "article", exclude: quoteRoots(article) })[0]
    || own(article, '[data-testid="reply"]', { nested: "article" })[0];
  if (button) button.click();
  return Boolean(button);
}

/** The site's send button that belongs to a reply box. */
export function sendButton(box) {
  let node = box;
  for (let i = 0; node && i < 12; i++, node = node.parentElement) {
    const button = node.querySelector(SEND);
    if (button) return button;
  }
  return null;
}

export function isBrand(post, handles) {
  return Boolean(post && post.author && handleSet(handles).has(String(post.author.handle || "").toLowerCase()));
}

/** Is the post addressed to the brand: a mention, a reply to it, or part of a conversation it is in? */
export function addressedTo(post, handles) {
  if (!post) return false;
  const set = handleSet(handles);
  if (mentions(post.text, handles)) return true;
  if ((post.reply_to || []).some((h) => set.has(h.toLowerCase()))) return true;
  return (post.thread || []).some((t) => t.kind !== "quote" && set.has(String(t.author?.handle || "").toLowerCase()));
}

/** Did the brand already answer: one of the next tweets in the conversation is the brand's reply to this author. */
export function answeredByBrand(article, handles) {
  return Boolean(safely(() => {
    const post = readOne(article);
    if (!post) return false;
    const set = handleSet(handles);
    const scope = article.closest('[aria-label^="Timeline"], [data-replydesk-conversation]') || article.ownerDocument;
    const all = findPosts(scope);
    const after = all.slice(all.indexOf(article) + 1, all.indexOf(article) + 7);
    return after.some((other, i) => {
      const p = readOne(other);
      if (!p || !set.has(String(p.author.handle).toLowerCase())) return false;
      const who = String(post.author.handle).toLowerCase();
      const answers = (p.reply_to || []).some((h) => h.toLowerCase() === who) || mentions(p.text, [who]);
      return answers || (i === 0 && cellOf(other) === cellOf(article));
    });
  }));
}

/** Pages where the brand's incoming posts are watched: notifications, mentions and search. */
export function monitoredPage(loc) {
  return /^\/(notifications(\/mentions)?|search|explore\/search)\b/.test(loc.pathname);
}
