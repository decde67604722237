import { randomUUID } from 'node:crypto';
import { REDIS_BACKENDS, useTestRedis } from '../redis/testRedis.js';
import { LiveState, type SegmentEntry } from '../live/liveState.js';
import type { RedisClient } from '../redis/redisClient.js';
import { PublisherClaims } from './publisherClaims.js';

const entry = (seq: number): SegmentEntry => ({
  seq, session: 1, durationSec: 2, ingestedAt: 0,
  renditions: { source: { bytes: 1000, durationSec: 2, width: 1280, height: 720, codecs: 'avc1.64001f', fps: 30 } },
});
const sha = (n: number) => n.toString(16).padStart(64, '0');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Two orchestrators (A, B) sharing one Redis: the RTMP claim moves from A to B within the reconnect
 * window; the session goes on at the seq after the last one admitted, with one discontinuity there,
 * and A, cut off, admits nothing more.
 */
describe.each(REDIS_BACKENDS)('RTMP publisher claims on a %s', (backend) => {
  let redis: RedisClient;
  let live: LiveState;
  const prefix = `segmint-test-${randomUUID().slice(0, 8)}`;
  const claims = (owner: string, leaseMs = 5000) => new PublisherClaims(redis, prefix, owner, { leaseMs, windowMs: 30_000, idleMs: 30_000 });
  const ctx = useTestRedis(backend, prefix);
  beforeAll(() => {
    redis = ctx.redis;
    live = new LiveState(redis, prefix);
  });

  it('continues at the seq after the last one admitted when the receiving orchestrator died mid-segment: no seq missing, one discontinuity, the dead one admits nothing more', async () => {
    const id = randomUUID();
    const [a, b] = [claims('A', 1000), claims('B')];
    expect(await a.claim(id)).toEqual({ outcome: 'new', baseSeq: 0 });
    for (const s of [0, 1, 2]) expect((await live.admit(id, s, sha(s), 'A')).status).toBe('ok');
    expect(await a.renew([id])).toEqual([]);
    expect(await b.claim(id)).toEqual({ outcome: 'taken', baseSeq: 0 });
    await sleep(1200); // A stops renewing (killed) while cutting seq 3: its lease lapses
    expect(await b.claim(id)).toEqual({ outcome: 'continue', baseSeq: 3 });
    // A's segment 3, had it survived (a stalled process waking up), is refused: B owns seq 3 now
    expect((await live.admit(id, 3, sha(300), 'A')).status).toBe('moved');
    expect(await a.renew([id])).toEqual([id]);
    for (const s of [3, 4]) expect((await live.admit(id, s, sha(s), 'B')).status).toBe('ok');
    for (const s of [4, 3, 2, 1]) await live.resolve(id, s, entry(s), 10);
    await live.resolve(id, 0, entry(0), 10);
    const { published, inflight } = await live.snapshot(id);
    expect(inflight).toBe(0);
    expect(published.map((r) => [r.entry.seq, r.discontinuity])).toEqual([[0, false], [1, false], [2, false], [3, true], [4, false]]);
  });

  it('continues at the seq after the last one admitted after a clean drop (window started once its last segment was in)', async () => {
    const id = randomUUID();
    const [a, b] = [claims('A'), claims('B')];
    await a.claim(id);
    for (const s of [0, 1]) await live.admit(id, s, sha(s), 'A');
    await a.release(id);
    expect(await b.claim(id)).toEqual({ outcome: 'continue', baseSeq: 2 });
    expect((await live.admit(id, 2, sha(2), 'B')).status).toBe('ok');
    for (const s of [0, 1, 2]) await live.resolve(id, s, entry(s), 10);
    expect((await live.snapshot(id)).published.map((r) => [r.entry.seq, r.discontinuity])).toEqual([[0, false], [1, false], [2, true]]);
  });

  it('takes the claim away when the session is ended by force (terminate, on any orchestrator): the receiving one\'s renewal and its next segment are refused', async () => {
    const id = randomUUID();
    const a = claims('A');
    await a.claim(id);
    await live.admit(id, 0, sha(0), 'A');
    expect(await a.renew([id])).toEqual([]);
    expect(await live.end(id, 'force')).toBe(true);
    expect(await a.renew([id])).toEqual([id]);
    expect((await live.admit(id, 1, sha(1), 'A')).status).toBe('moved'); // not a new session behind the terminate's back
    expect(await claims('B').claim(id)).toEqual({ outcome: 'new', baseSeq: 0 });
  });

  it('marks the discontinuity on the next seq when the continued session\'s first segment is skipped', async () => {
    const id = randomUUID();
    const [a, b] = [claims('A'), claims('B')];
    await a.claim(id);
    await live.admit(id, 0, sha(0), 'A');
    await a.release(id);
    expect((await b.claim(id)).baseSeq).toBe(1);
    for (const s of [1, 2]) await live.admit(id, s, sha(s), 'B');
    await live.resolve(id, 1, null, 10);
    await live.resolve(id, 2, entry(2), 10);
    await live.resolve(id, 0, entry(0), 10);
    expect((await live.snapshot(id)).published.map((r) => [r.entry.seq, r.discontinuity])).toEqual([[0, false], [2, true]]);
  });
});
