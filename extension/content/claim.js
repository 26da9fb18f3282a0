// A reply panel's claim on its post (team servers): "I am replying to this post", so two agents never answer one
// customer. The panel claims its post once the server has tracked it, and renews the claim while the agent is
// active on the page; an agent who goes idle stops renewing, so the claim lapses on the server after its idle time
// (claim_idle_seconds) and anyone may take the post. Activity after that claims it again. Another agent's claim is
// shown ("Dana is replying") until they release it, reply, or go idle themselves (their claim's expiry passes).
// The server's idle time is learnt from our own claims' claim_expires_at, so renewals stay well inside it.
import { call } from "./bridge.js";

const RENEW_MAX_MS = 45000; // never later than this, however long the server's idle time
const RENEW_MIN_MS = 1000;
const DEFAULT_IDLE_MS = 120000; // the server's default claim_idle_seconds, until a claim of ours tells us
// What counts as the agent being there: input on the page or in the panel (composed events reach the document).
const ACTIVITY = ["pointerdown", "pointermove", "keydown", "input", "wheel"];

export class PanelClaim {
  /** `show(by, message)` renders who else holds the post (null: nobody else); `skewMs()` is the server's clock
   * minus ours; `signal` removes the activity listeners when the panel closes. */
  constructor({ show, skewMs, signal }) {
    this.show = show;
    this.skewMs = skewMs;
    this.itemId = null;
    this.held = false; // we hold it, until `expiresAt` (our clock) unless renewed
    this.expiresAt = 0;
    this.by = null; // another agent holding it, until `byExpires` (our clock; null when not known)
    this.byExpires = null;
    this.myName = null;
    this.idleMs = DEFAULT_IDLE_MS;
    this.lastActive = Date.now(); // opening the panel is activity
    this.lastTry = 0;
    this.claiming = false;
    this.off = false; // a server without claims, or a post already closed: nothing more to do
    for (const type of ACTIVITY) {
      document.addEventListener(type, () => (this.lastActive = Date.now()), { capture: true, passive: true, signal });
    }
  }

  /** The post's queue item is known (tracked, or the suggestion's queue_item): claim it. */
  start(item) {
    if (!item || item.id === undefined || this.itemId !== null || this.off) return;
    this.itemId = item.id;
    this.noteItem(item);
    this.claimNow();
  }

  /** How often to renew: a third of the server's idle time, within [1 s, 45 s]. */
  renewMs() {
    return Math.max(RENEW_MIN_MS, Math.min(RENEW_MAX_MS, this.idleMs / 3));
  }

  active(now = Date.now()) {
    return now - this.lastActive < this.idleMs;
  }

  /** Our clock's time for a server timestamp (null when there is none). */
  local(iso) {
    const t = Date.parse(iso || "");
    return Number.isNaN(t) ? null : t - (this.skewMs() || 0);
  }

  /** Every second while the panel is open: renew while active, notice lapses (ours and others'). */
  tick() {
    if (this.itemId === null || this.off || this.claiming) return;
    const now = Date.now();
    if (this.held) {
      if (now < this.expiresAt) {
        if (this.active(now) && now - this.lastTry >= this.renewMs()) this.claimNow();
        return;
      }
      this.held = false; // we went idle and the server let the claim go
    }
    if (this.by) {
      if (this.byExpires === null || now < this.byExpires) {
        // Ask again now and then: an event may have been missed, and a 409 refreshes who holds it.
        if (now - this.lastTry >= this.renewMs()) this.claimNow();
        return;
      }
      this.setOther(null); // they went idle: their claim is over
    }
    if (this.active(now) && now - this.lastTry >= RENEW_MIN_MS) this.claimNow();
  }

  async claimNow() {
    if (this.itemId === null || this.off || this.claiming) return;
    this.claiming = true;
    this.lastTry = Date.now();
    let res;
    try {
      res = await call("claim", { id: this.itemId });
    } catch {
      return; // the server is away: the next tick tries again
    } finally {
      this.claiming = false;
    }
    if (this.off) {
      if (res.held) call("release", { id: this.itemId }).catch(() => {}); // the panel closed meanwhile
      return;
    }
    if (res.unavailable || res.closed) {
      this.off = true; // a single agent's desk without claims, or a post already answered
      this.held = false;
      this.setOther(null);
      return;
    }
    if (res.held) {
      this.mine(res.item);
      this.setOther(null);
    } else {
      this.held = false;
      this.setOther(res.claimedBy, res.message);
    }
  }

  /** A claim of ours the server granted: who we are, and when it lapses (which tells the server's idle time). */
  mine(item) {
    this.held = true;
    if (item && item.claimed_by) this.myName = item.claimed_by;
    const expires = this.local(item && item.claim_expires_at);
    if (expires !== null) {
      this.expiresAt = expires;
      this.idleMs = Math.max(RENEW_MIN_MS, expires - Date.now());
    } else {
      this.expiresAt = Date.now() + this.idleMs;
    }
  }

  setOther(by, message) {
    this.by = by || null;
    if (!by) this.byExpires = null;
    this.show(this.by, message);
  }

  /** The queue's word on our post (a /ws event or a fresh list): someone took it, let it go, or it is ours. */
  noteItem(item, me) {
    if (this.itemId === null || !item || String(item.id) !== String(this.itemId)) return;
    if (me) this.myName = me;
    if (this.off) return;
    const expires = this.local(item.claim_expires_at);
    const live = Boolean(item.claimed_by) && !(expires !== null && expires <= Date.now());
    if (live && item.claimed_by !== this.myName) {
      this.held = false;
      this.byExpires = expires;
      if (item.claimed_by !== this.by) this.setOther(item.claimed_by);
    } else if (live) {
      this.held = true;
      if (expires !== null) this.expiresAt = expires;
      if (this.by) this.setOther(null);
    } else if (this.by || this.held) {
      // Released (or lapsed): the post is free again, ours if the agent is still at it.
      this.held = false;
      this.setOther(null);
      if (this.active()) this.claimNow();
    }
  }

  /** The post is answered (by us or anyone): stop claiming; the server released it. */
  stop() {
    this.off = true;
    this.held = false;
  }

  /** The panel closes: let go of a claim we hold. */
  release() {
    const held = this.held && !this.off && this.itemId !== null;
    this.off = true;
    this.held = false;
    if (held) call("release", { id: this.itemId }).catch(() => {});
  }
}
