// Routing the messages of content scripts, the popup and the options page: each port message is
// {type, reqId, ...}; the answer is {reqId, ok, result} or {reqId, ok: false, error}, and "suggest" streams
// {reqId, event: "delta" | "done" | "error"}.
import { ext } from "../lib/ext.js";
import { api } from "./api.js";
import { errorOf, Failure } from "./errors.js";
import { checkStatus } from "./health.js";
import { claim, release, releasePort } from "./claims.js";
import { packInfo, packList, withPack } from "./packs.js";
import { pairAsk, pairPoll } from "./pairing.js";
import { cleanPost } from "./posts.js";
import { addPort, removePort } from "./ports.js";
import { refreshQueue, replied, track } from "./queue.js";
import { settings } from "./settings.js";
import { dropPort, suggest } from "./suggest.js";

/** Open a post on its site (the queue view's "open"), and with `suggest` open its reply panel once the page has
 * read it. Resolves to the tab's id, for the queue view's next command (insert). */
async function openPost(url, postId, suggest) {
  const tab = await ext.tabs.create({ url });
  if (!suggest) return { tab: tab.id };
  const end = Date.now() + 20000;
  while (Date.now() < end) {
    await new Promise((r) => setTimeout(r, 300));
    try {
      const res = await ext.tabs.sendMessage(tab.id, { type: "open-post", post_id: postId });
      if (res && res.opened) return { tab: tab.id, opened: true };
    } catch {
      // the page or its content script is not there yet
    }
  }
  return { tab: tab.id, opened: false };
}

export const handlers = {
  status: () => checkStatus(),
  settings: async () => {
    const cfg = await settings();
    return { ...cfg, token: cfg.token ? "set" : "" };
  },
  pack: ({ name }) => packInfo(name),
  packs: () => packList(),
  tone: async ({ text, platform, post }) => {
    const body = { text, platform };
    if (post) body.post = cleanPost(post);
    return api("/api/tone", { method: "POST", body: await withPack(body) });
  },
  track: ({ post }) => track(cleanPost(post)),
  replied: ({ post, id }) => replied(cleanPost(post), id),
  queue: () => refreshQueue(),
  openTab: ({ url }) => ext.tabs.create({ url }).then(() => true),
  openPost: ({ url, post_id: postId, suggest }) => openPost(url, postId, suggest),
  tabCommand: ({ tab, command }) => ext.tabs.sendMessage(tab, { type: command }),
  claim: ({ id, takeover }, port) => claim(port, id, Boolean(takeover)),
  release: ({ id }, port) => release(port, id),
  pairAsk: () => pairAsk(),
  pairPoll: ({ id }) => pairPoll(id),
};

async function onPortMessage(port, msg) {
  const { reqId, type } = msg || {};
  if (type === "suggest") {
    suggest(port, reqId, msg);
    return;
  }
  const handler = handlers[type];
  try {
    if (!handler) throw new Failure("unknown_request", `Unknown request '${type}'.`);
    const result = await handler(msg, port);
    port.postMessage({ reqId, ok: true, result });
  } catch (err) {
    try {
      port.postMessage({ reqId, ok: false, error: errorOf(err) });
    } catch {
      // the page went away
    }
  }
}

/** Accept "replydesk" ports. Must run in the worker's first turn so a waking worker hears the connect. */
export function listenForPorts() {
  ext.runtime.onConnect.addListener((port) => {
    if (port.name !== "replydesk") return;
    addPort(port);
    port.onDisconnect.addListener(() => {
      removePort(port);
      dropPort(port);
      releasePort(port);
    });
    port.onMessage.addListener((msg) => onPortMessage(port, msg));
  });
}
