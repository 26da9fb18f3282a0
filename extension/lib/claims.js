// A queue item's claim as the lists show it: "Dana is replying" when another agent holds it (team servers).

/** "Dana is replying" when `item` is claimed by someone other than `me` and the claim has not lapsed, else "". */
export function claimNote(item, me, skewMs = 0) {
  const by = item && item.claimed_by;
  if (!by || (me && by === me)) return "";
  const expires = Date.parse(item.claim_expires_at || "");
  if (expires < Date.now() + skewMs) return "";
  return `${by} is replying`;
}
