/**
 * Every Redis key of edge delivery, named here and nowhere else (Lua scripts get them as KEYS).
 * Keys of one edge share the hash tag {edge:ADDRESS}, keys of one viewer session {esess:ID}, and
 * the few keys listing all edges {edges}: each script touches keys of one tag only, so it runs on
 * Redis Cluster as it is.
 */
export function edgeKeys(prefix: string) {
  const all = `${prefix}:{edges}`;
  return {
    /** hash: edge address → registration record (JSON). */
    registry: `${all}:registry`,
    /** hash: edge address → last registration nonce. */
    nonces: `${all}:nonces`,
    /** zset: playback id → last time a viewer session of it started (what the mystery viewer samples). */
    playbacks: `${all}:playbacks`,
    edge(address: string) {
      const b = `${prefix}:{edge:${address.toLowerCase()}}`;
      return {
        /** string with a TTL: the edge heartbeat is fresh while it exists. */
        heartbeat: `${b}:hb`,
        /** zset: session id → expiry (ms) of viewer sessions steered here: the edge's load. */
        sessions: `${b}:sessions`,
        /** string (JSON reason) with a TTL: the edge gets no viewers while it exists. */
        excluded: `${b}:excluded`,
        /** hash: counters (receipts, bytes paid and capped, rejections by code, mystery checks, latency). */
        stats: `${b}:stats`,
        /** list: proven faults with their evidence (JSON), newest first. */
        faults: `${b}:faults`,
        /** string with a TTL: this receipt batch's counters were added to `stats`. */
        counted: (batchId: string) => `${b}:counted:${batchId}`,
      };
    },
    session(id: string) {
      const b = `${prefix}:{esess:${id}}`;
      return {
        /** hash: playbackId, streamId, viewerKey, edge, startedAt, used (bytes vouched for and paid). */
        record: b,
        /** hash: `rendition/uri` this session already vouched for → `batchId|bytes paid`. */
        seen: `${b}:paid`,
      };
    },
  };
}
export type EdgeKeys = ReturnType<typeof edgeKeys>;
