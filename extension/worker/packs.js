// Prompt packs: the list and the server's default (GET /api/packs), and one pack's data for the content script
// (handles to monitor, channel limits, SLA fractions). The pack is the agent's choice in the options, else the
// server's default: the worker never names a pack of its own.
import { api } from "./api.js";
import { settings } from "./settings.js";

const PACK_TTL_MS = 60000;
const cache = new Map(); // key -> {at, value}

export function forgetPacks() {
  cache.clear();
}

function cached(key) {
  const hit = cache.get(key);
  return hit && Date.now() - hit.at < PACK_TTL_MS ? hit.value : null;
}

/** {"packs": [...], "default": "<name>"} from the server. */
export async function packList() {
  const hit = cached("\u0000list");
  if (hit) return hit;
  const value = await api("/api/packs");
  cache.set("\u0000list", { at: Date.now(), value });
  return value;
}

/** The pack the agent chose in the options, or "" for the server's default. */
export async function chosenPack() {
  const cfg = await settings();
  return cfg.pack || "";
}

/** Request bodies name the pack only when the agent chose one; otherwise the server applies its default. */
export async function withPack(body) {
  const name = await chosenPack();
  return name ? { ...body, pack: name } : body;
}

/** One pack's data: `name`, or the chosen pack, or the server's default. `chosen` says whether the agent picked it. */
export async function packInfo(name) {
  const chosen = name || (await chosenPack());
  const key = chosen || "\u0000default";
  const hit = cached(key);
  if (hit) return hit;
  const target = chosen || (await packList()).default;
  if (!target) throw Object.assign(new Error("The server names no default pack."), { code: "unknown_pack" });
  const raw = await api(`/api/packs/${encodeURIComponent(target)}`);
  const data = raw.data || {};
  const meta = data.pack || {};
  const value = {
    name: meta.name || raw.name || target,
    version: meta.version || raw.version,
    chosen: Boolean(chosen),
    brand: meta.brand || null,
    handles: meta.handles || { x: [], facebook: [] },
    channels: data.channels || {},
    sla: data.sla || {},
    signature: data.signature || {},
  };
  cache.set(key, { at: Date.now(), value });
  return value;
}
