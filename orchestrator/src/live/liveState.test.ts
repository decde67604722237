import { randomUUID } from 'node:crypto';
import { REDIS_BACKENDS, useTestRedis } from '../redis/testRedis.js';
import type { RedisClient } from '../redis/redisClient.js';
import { LiveState, type SegmentEntry } from './liveState.js';

const entry = (seq: number): SegmentEntry => ({
  seq, session: 1, durationSec: 2, ingestedAt: 0,
  renditions: { source: { bytes: 1000, durationSec: 2, width: 1280, height: 720, codecs: 'avc1.64001f', fps: 30 } },
});
const sha = (n: number) => n.toString(16).padStart(64, '0');

/** The same behaviour on one Redis and on a 3-master Redis Cluster (a stream's keys in one slot, its indexes elsewhere). */
describe.each(REDIS_BACKENDS)('on a %s', (backend) => {
  let redis: RedisClient;
  let live: LiveState;
  const prefix = `segmint-test-${randomUUID().slice(0, 8)}`;
  const ctx = useTestRedis(backend, prefix);
  beforeAll(() => {
    redis = ctx.redis;
    live = new LiveState(redis, prefix);
  });

  describe('LiveState', () => {
    it('publishes in seq order when results arrive out of order', async () => {
      const id = randomUUID();
      for (const s of [0, 1, 2]) expect((await live.admit(id, s, sha(s))).status).toBe('ok');
      expect((await live.resolve(id, 2, entry(2), 10)).published).toEqual([]);
      expect((await live.resolve(id, 1, entry(1), 10)).published).toEqual([]);
      const { published } = await live.resolve(id, 0, entry(0), 10);
      expect(published.map((r) => [r.index, r.entry.seq, r.discontinuity])).toEqual([
        [0, 0, false], [1, 1, false], [2, 2, false],
      ]);
    });

    it('jumps over a seq that was never pushed and marks a discontinuity', async () => {
      const id = randomUUID();
      await live.admit(id, 5, sha(5));
      await live.admit(id, 7, sha(7));
      await live.resolve(id, 5, entry(5), 10);
      const { published } = await live.resolve(id, 7, entry(7), 10);
      expect(published.map((r) => [r.entry.seq, r.discontinuity])).toEqual([[7, true]]);
    });

    it('skips a segment that failed for good and marks a discontinuity after it', async () => {
      const id = randomUUID();
      for (const s of [0, 1, 2]) await live.admit(id, s, sha(s));
      await live.resolve(id, 0, entry(0), 10);
      await live.resolve(id, 2, entry(2), 10);
      const { published } = await live.resolve(id, 1, null, 10);
      expect(published.map((r) => [r.entry.seq, r.discontinuity])).toEqual([[2, true]]);
    });

    it('treats a repeated push as a duplicate, other bytes as a conflict, a passed seq as too late', async () => {
      const id = randomUUID();
      await live.admit(id, 0, sha(0));
      await live.admit(id, 1, sha(1));
      expect((await live.admit(id, 1, sha(1))).status).toBe('duplicate');
      expect((await live.admit(id, 1, sha(99))).status).toBe('conflict');
      await live.resolve(id, 0, entry(0), 10);
      expect((await live.admit(id, 0, sha(0))).status).toBe('too-late');
    });

    it('drops a late or repeated result idempotently', async () => {
      const id = randomUUID();
      await live.admit(id, 0, sha(0));
      expect((await live.resolve(id, 0, entry(0), 10)).resolved).toBe(true);
      const again = await live.resolve(id, 0, entry(0), 10);
      expect(again).toEqual({ resolved: false, published: [], evicted: [] });
      expect((await live.snapshot(id)).published).toHaveLength(1);
    });

    it('evicts beyond the retention length and counts evicted discontinuities', async () => {
      const id = randomUUID();
      for (const s of [0, 2, 3, 4]) await live.admit(id, s, sha(s));
      for (const s of [0, 2, 3]) await live.resolve(id, s, entry(s), 2);
      const { evicted } = await live.resolve(id, 4, entry(4), 2);
      expect(evicted.map((r) => r.entry.seq)).toEqual([2]);
      const { meta, published } = await live.snapshot(id);
      expect(published.map((r) => r.entry.seq)).toEqual([3, 4]);
      expect(meta?.discBase).toBe(1); // seq 2 carried the discontinuity after the gap
    });

    it('starts a new session with a discontinuity after the stream ended', async () => {
      const id = randomUUID();
      await live.admit(id, 0, sha(0));
      await live.resolve(id, 0, entry(0), 10);
      expect(await live.end(id, 'force')).toBe(true);
      expect((await live.meta(id))?.ended).toBe(true);
      const again = await live.admit(id, 0, sha(100)); // numbering restarts, as OBS does
      expect(again).toEqual({ status: 'ok', session: 2, newSession: true });
      const { published } = await live.resolve(id, 0, { ...entry(0), session: 2 }, 10);
      expect(published.map((r) => [r.index, r.discontinuity])).toEqual([[1, true]]);
    });

    it('ends only streams that stayed idle', async () => {
      const id = randomUUID();
      await live.admit(id, 0, sha(0));
      expect(await live.end(id, Date.now() - 60_000)).toBe(false);
      expect(await live.idleStreams(Date.now() + 1)).toContain(id);
      expect(await live.end(id, Date.now() + 1)).toBe(true);
      expect(await live.idleStreams(Date.now() + 1)).not.toContain(id);
    });

    it('indexes an ended session with seqs in flight as draining, until they are resolved', async () => {
      const id = randomUUID();
      for (const s of [0, 1]) await live.admit(id, s, sha(s));
      await live.resolve(id, 0, entry(0), 10);
      expect(await live.end(id, 'force')).toBe(true);
      expect([await live.drainingStreams(), await live.activeStreams()]).toEqual([expect.arrayContaining([id]), expect.not.arrayContaining([id])]);
      await live.drained(id);
      expect(await live.drainingStreams()).toContain(id); // seq 1 still in flight
      await live.resolve(id, 1, entry(1), 10);
      await live.drained(id);
      expect(await live.drainingStreams()).not.toContain(id);
    });

    it('keeps the index entry of a session that began after the idle cutoff the sweep ended the last one by', async () => {
      const id = randomUUID();
      await live.admit(id, 0, sha(0));
      const cutoff = Date.now() + 1;
      await new Promise((r) => setTimeout(r, 5));
      expect(await live.end(id, 'force')).toBe(true);
      await live.admit(id, 1, sha(1)); // new session, indexed after the cutoff
      expect(await live.end(id, cutoff)).toBe(false); // the sweep's stale view: not idle since its cutoff
      expect(await live.activeStreams()).toContain(id);
    });

    it('reindex puts back a live stream and a draining one that a crash left out of the indexes', async () => {
      const [a, b] = [randomUUID(), randomUUID()];
      await live.admit(a, 0, sha(0));
      await live.admit(b, 0, sha(0));
      await live.end(b, 'force');
      // What a process killed between the state change and the index update leaves behind:
      await redis.zrem(`${prefix}:live:active`, a);
      await redis.zrem(`${prefix}:live:draining`, b);
      expect(await live.reindex()).toBeGreaterThanOrEqual(2);
      expect(await live.activeStreams()).toContain(a);
      expect(await live.drainingStreams()).toContain(b);
      expect(await live.reindex()).toBe(0);
    });
  });

  describe('LiveState.revise', () => {
    it('moves a published segment to a new revision (the playlists then name its new files); -1 once it is gone', async () => {
      const id = randomUUID();
      for (const s of [0, 1]) await live.admit(id, s, sha(s));
      await live.resolve(id, 0, entry(0), 10);
      expect(await live.revise(id, 1, 0, 1)).toBe(0);
      expect(await live.revise(id, 1, 0, 2)).toBe(1);
      const { published } = await live.snapshot(id);
      expect(published.map((r) => [r.entry.seq, r.entry.rev])).toEqual([[0, 2]]);
      expect(await live.revise(id, 2, 0, 3)).toBe(-1); // another session's seq 0
      expect(await live.revise(id, 1, 7, 1)).toBe(-1); // never published
    });

    it('revises an accepted segment still waiting for its turn', async () => {
      const id = randomUUID();
      for (const s of [0, 1]) await live.admit(id, s, sha(s));
      await live.resolve(id, 1, entry(1), 10);
      expect(await live.revise(id, 1, 1, 1)).toBe(0);
      const { published } = await live.resolve(id, 0, entry(0), 10);
      expect(published.map((r) => [r.entry.seq, r.entry.rev ?? 0])).toEqual([[0, 0], [1, 1]]);
    });

    it('gives the new files their own sha256 and length (what the signed hash sidecar lists)', async () => {
      const id = randomUUID();
      await live.admit(id, 0, sha(0));
      await live.resolve(id, 0, { ...entry(0), renditions: { source: { ...entry(0).renditions.source!, sha256: sha(1) } } }, 10);
      expect(await live.revise(id, 1, 0, 1, { source: { sha256: sha(2), bytes: 1234 }, missing: { sha256: sha(3), bytes: 1 } })).toBe(0);
      const { published } = await live.snapshot(id);
      expect(published[0]!.entry.renditions).toEqual({ source: { ...entry(0).renditions.source!, sha256: sha(2), bytes: 1234 } });
    });
  });

  describe('LiveState sessions', () => {
    it('a new session drops the previous session\'s in-flight and waiting seqs (its playlist never waits on them)', async () => {
      const id = randomUUID();
      for (const s of [0, 1, 2]) await live.admit(id, s, sha(s));
      await live.resolve(id, 2, entry(2), 10); // waits behind 0 and 1, which never resolve (a crash)
      expect(await live.end(id, 'force')).toBe(true);
      const next = await live.admit(id, 0, sha(100));
      expect(next).toMatchObject({ status: 'ok', session: 2, newSession: true });
      expect((await live.snapshot(id)).inflight).toBe(1);
      // The old session's result for seq 1 is not in flight any more: nothing is published for it.
      expect((await live.resolve(id, 1, entry(1), 10)).resolved).toBe(false);
      const { published } = await live.resolve(id, 0, { ...entry(0), session: 2 }, 10);
      expect(published.map((r) => [r.entry.session, r.entry.seq])).toEqual([[2, 0]]);
    });
  });
});
