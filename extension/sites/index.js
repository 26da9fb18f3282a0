// The site adapters, registered in one place. Adding a site is one new file here plus one line in ADAPTERS; a
// change of one site's markup is a fix in that site's file only. content/main.js picks adapters from this list.
import * as facebook from "./facebook.js";
import * as x from "./x.js";

/**
 * A post as docs/DESIGN.md defines it (the body of POST /api/suggest's `post`).
 * @typedef {object} Post
 * @property {"x" | "facebook"} platform
 * @property {string | null} post_id
 * @property {string | null} url
 * @property {{handle: string | null, name: string | null}} author
 * @property {string} text
 * @property {string | null} created_at ISO-8601
 * @property {string} [lang]
 * @property {string} [kind] "comment" for a Facebook comment
 * @property {string[]} [reply_to] handles an X reply answers
 * @property {string[]} [to] handles a Facebook post is addressed to
 * @property {object} [quoted] the quoted tweet
 * @property {object[]} [thread] the conversation above the post, oldest first
 */

/**
 * What every site adapter module provides. All functions are pure DOM readers (no network, no extension APIs)
 * and never throw: a page the adapter does not understand gives null / [] / false.
 * @typedef {object} SiteAdapter
 * @property {"x" | "facebook"} platform the Post.platform it produces
 * @property {string} ORIGIN the site's canonical origin, for absolute links
 * @property {(loc: Location | URL) => boolean} matches does this adapter serve the page at `loc`?
 * @property {(root?: ParentNode) => Element[]} findPosts the post units (posts, comments) under root
 * @property {(unit: Element) => Post | null} readPost a unit read into a Post, or null ("no post found")
 * @property {(unit: Element) => Element | null} actionBar where the "Suggest reply" control goes
 * @property {(unit: Element) => Element | null} [textElement] the unit's own words (fallback spot for the control)
 * @property {(unit: Element) => Element | null} replyBox the site's reply box for the unit, when it is open
 * @property {(unit: Element) => boolean} openReply open that box the site's own way (its Reply / Comment control)
 * @property {(box: Element) => Element | null} sendButton the site's send button of a reply box
 * @property {(post: Post, handles: string[]) => boolean} isBrand is the post the brand's own?
 * @property {(post: Post, handles: string[], loc: Location) => boolean} addressedTo is the post addressed to the brand?
 * @property {(unit: Element, handles: string[]) => boolean} answeredByBrand did the brand already answer it on the page?
 * @property {(loc: Location, handles: string[]) => boolean} monitoredPage is this a page whose posts are tracked?
 *
 * Inserting the reply (content/insert.js) is the same for every site: it types into `replyBox(unit)` (after
 * `openReply(unit)` if needed) and notices the send through `sendButton(box)`.
 */

/** @type {readonly SiteAdapter[]} */
export const ADAPTERS = Object.freeze([x, facebook]);

/** Reply Desk's own demo page (served by the local server): it shows every site's posts, each in its section. */
export function isDemo(loc) {
  return /^(127\.0\.0\.1|localhost|\[::1\])$/.test(loc.hostname) && /^\/demo\b/.test(loc.pathname);
}

/** The adapter serving the page at `loc`, or null. */
export function adapterFor(loc) {
  return ADAPTERS.find((a) => a.matches(loc)) || null;
}

/**
 * Which site the page is and the adapters that run on it: {site: "x" | "facebook" | ..., adapters: [one]}, on the
 * demo page {site: "demo", adapters: all of them}, else null.
 */
export function sitePage(loc) {
  const adapter = adapterFor(loc);
  if (adapter) return { site: adapter.platform, adapters: [adapter] };
  if (isDemo(loc)) return { site: "demo", adapters: [...ADAPTERS] };
  return null;
}

/** Where an adapter looks: the whole page, or on the demo page its own site's section. */
export function rootFor(site, adapter, doc = document) {
  if (site !== "demo") return doc;
  return doc.querySelector(`[data-demo-site="${adapter.platform}"]`) || doc;
}
