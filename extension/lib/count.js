// Character counting that matches the server's (docs/DESIGN.md: X counts 280 weighted characters, URLs 23, emoji and
// CJK 2), used for an instant count while the server's tone check is on its way; the server's figure wins.

const URL_RE = /\bhttps?:\/\/[^\s]+|\bwww\.[^\s]+|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|org|net|io|co|ly|app|dev|ai|me|gov|edu|info|uk|de|fr|es|it|ca)(?:\/[^\s]*)?/gi;
const EMOJI_RE = /\p{Extended_Pictographic}(?:\uFE0F|\p{Emoji_Modifier}|\u200D\p{Extended_Pictographic}\uFE0F?)*|[\u{1F1E6}-\u{1F1FF}]{2}/gu;
const LIGHT = [[0, 4351], [8192, 8205], [8208, 8223], [8242, 8247]];

function weightOf(cp) {
  return LIGHT.some(([lo, hi]) => cp >= lo && cp <= hi) ? 1 : 2;
}

/** X's weighted length (twitter-text v3 rules, simplified): URLs 23, emoji 2, CJK 2, Latin 1. */
export function twitterLength(text) {
  let rest = String(text || "");
  let total = 0;
  rest = rest.replace(URL_RE, () => {
    total += 23;
    return "";
  });
  rest = rest.replace(EMOJI_RE, () => {
    total += 2;
    return "";
  });
  for (const ch of rest) total += weightOf(ch.codePointAt(0));
  return total;
}

export function countFor(text, counting) {
  return counting === "twitter" ? twitterLength(text) : Array.from(String(text || "")).length;
}

/** The server measures spans in code points (Python str); JavaScript strings index UTF-16 units. */
export function codePointToUtf16(text, index) {
  let units = 0;
  let cps = 0;
  for (const ch of text) {
    if (cps >= index) break;
    units += ch.length;
    cps += 1;
  }
  return units;
}
