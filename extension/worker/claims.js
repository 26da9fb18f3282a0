// Claims on queue items (team servers): "I am replying to this post", so two agents do not answer one customer.
// The reply panel claims its post when it opens and renews the claim while it stays open; closing it releases the
// claim. A claim the server refuses (409) names who holds it. The worker also remembers which port holds which
// claim, so a tab that closes or navigates away (its port drops without the panel's close) releases them too.
import { api, unavailable } from "./api.js";
import { noteItem, setMe } from "./queue.js";

const held = new Map(); // port -> Set of item ids it holds

const path = (id) => `/api/queue/${encodeURIComponent(id)}/claim`;

/** Claim (or renew) item `id` for `port`: {held: true, item} | {held: false, claimedBy, message} |
 * {held: false, closed: true, message} for a post already replied or dismissed | {unavailable: true} on a server
 * without claims (a single agent's desk from before team mode). */
export async function claim(port, id, takeover = false) {
  try {
    const item = await api(path(id), { method: "POST", body: takeover ? { takeover: true } : {} });
    noteItem(item);
    if (item && item.claimed_by) setMe(item.claimed_by);
    if (!held.has(port)) held.set(port, new Set());
    held.get(port).add(String(id));
    return { held: true, item };
  } catch (err) {
    if (err.status === 409) {
      forget(port, id);
      const data = err.data || {};
      // Replied or dismissed already: nobody holds it and there is nothing left to claim.
      if (data.error === "closed") return { held: false, closed: true, message: data.message || err.message };
      const claimedBy = data.claimed_by || "Another agent";
      return { held: false, claimedBy, message: data.message || `${claimedBy} is replying` };
    }
    if (unavailable(err)) return { unavailable: true };
    throw err;
  }
}

/** Let go of item `id`: the server answers 200 for an item we no longer hold too. */
export async function release(port, id) {
  forget(port, id);
  try {
    const item = await api(path(id), { method: "DELETE" });
    noteItem(item);
    return { released: true, item };
  } catch (err) {
    if (unavailable(err) || err.status === 403 || err.status === 409) return { released: false };
    throw err;
  }
}

function forget(port, id) {
  const set = held.get(port);
  if (set) set.delete(String(id));
}

/** A port went away (its tab closed or navigated): release what it held, best effort. */
export function releasePort(port) {
  const set = held.get(port);
  held.delete(port);
  for (const id of set || []) api(path(id), { method: "DELETE" }).then(noteItem, () => {});
}
