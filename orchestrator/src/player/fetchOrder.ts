/**
 * The order in which a swarm's viewers fetch one live segment from the origin (p2pPatches.ts
 * designatedFetcher): by a hash of (peer id, segment number), so every viewer that sees the same
 * swarm computes the same order without talking to the others.
 */

/** This viewer's place (0: first) among itself and its peers in the fetch order of one segment. */
export function rankOf(me: string, peers: string[], segmentId: number): number {
  const mine = fnv1a(`${me}|${segmentId}`);
  let rank = 0;
  for (const p of peers) {
    const h = fnv1a(`${p}|${segmentId}`);
    if (h < mine || (h === mine && p < me)) rank++;
  }
  return rank;
}

/**
 * 32-bit FNV-1a with murmur3's final mix: cheap, and every viewer computes it alike. The mix matters:
 * plain FNV-1a of ids that differ only in the last digits of the segment number kept the same order
 * for runs of segments (measured: one viewer first for 8 segments in a row, uploading all of them).
 */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
