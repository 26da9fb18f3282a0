// X / Twitter adapter: reads tweets on the timeline, search, notifications and tweet-detail views into the Post
// of docs/DESIGN.md. Leans on ARIA roles and data-testid attributes, never on X's generated class names.
import { handleSet, isoFromAttr, mentions, own, safely, shownBox, visibleText } from "./common.js";

export const platform = "x";
export const ORIGIN = "https://x.com";
const TWEET = 'article[data-testid="tweet"], article[role="article"]:has([data-testid="tweetText"])';
const STATUS = /^\/([A-Za-z0-9_]{1,50})\/status\/(\d+)/;
const BOX = '[data-testid^="tweetTextarea_"][contenteditable="true"], [data-testid^="tweetTextarea_"] [contenteditable="true"], textarea[data-testid^="tweetTextarea_"]';
const SEND = '[data-testid="tweetButton"], [data-testid="tweetButtonInline"]';
const MAX_THREAD = 20;

/** Does this adapter serve the page? */
export function matches(loc) {
  return /(^|\.)(x|twitter)\.com$/.test(loc.hostname);
}

/** Every tweet element under root (outermost articles only; a quoted tweet is part of its article). */
export function findPosts(root = document) {
  const all = [...root.querySelectorAll(TWEET)];
  return all.filter((el) => !el.parentElement || !el.parentElement.closest("article"));
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
    if (!handle && /^@[A-Za-z0-9_]{1,50}$/.test(text)) handle = text.slice(1);
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
    const a = links.find((l) => /^\/[A-Za-z0-9_]{1,50}\/?$/.test(l.getAttribute("href") || ""));
    if (a) handle = a.getAttribute("href").replace(/\//g, "");
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

/** Read one tweet into a Post, without its thread. Null when the element is not a tweet we understand. */
function readOne(article) {
  const quotes = quoteRoots(article);
  const opts = { nested: "article", exclude: quotes };
  const userName = own(article, '[data-testid="User-Name"]', opts)[0];
  const textEl = own(article, '[data-testid="tweetText"]', opts)[0];
  if (!userName || !textEl) return null;
  const text = visibleText(textEl);
  const author = readAuthor(userName);
  if (!text || !author.handle) return null;
  const { url, id, created_at } = readPermalink(article, quotes);
  const post = {
    platform,
    post_id: id,
    url,
    author,
    text,
    created_at,
  };
  const lang = textEl.getAttribute("lang");
  if (lang && lang !== "und") post.lang = lang;
  const to = replyingTo(article, quotes);
  if (to.length) post.reply_to = to;
  if (quotes.length) post.quoted = readQuote(quotes[0]);
  return post;
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
    const groups = own(article, '[role="group"]', { nested: "article", exclude: quoteRoots(article) });
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
    const inCell = shownBox(cell, BOX);
    if (inCell) return inCell;
    let next = cell && cell.nextElementSibling;
    for (let i = 0; next && i < 2; i++, next = next.nextElementSibling) {
      if (next.querySelector(TWEET)) break;
      const box = shownBox(next, BOX);
      if (box) return box;
    }
    // X's reply dialog shows the tweet it answers: a dialog about another tweet is not this tweet's box.
    const dialog = article.ownerDocument.querySelector('[role="dialog"]');
    if (!dialog) return null;
    const id = readPermalink(article, quoteRoots(article)).id;
    const ids = [...dialog.querySelectorAll('a[href*="/status/"]')]
      .map((a) => (new URL(a.getAttribute("href"), ORIGIN).pathname.match(STATUS) || [])[2])
      .filter(Boolean);
    if (id && ids.length && !ids.includes(id)) return null;
    return shownBox(dialog, BOX);
  });
}

/** Open the reply box the site's own way: its Reply button. */
export function openReply(article) {
  const button = own(article, '[data-testid="reply"]', { nested: "article", exclude: quoteRoots(article) })[0];
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
