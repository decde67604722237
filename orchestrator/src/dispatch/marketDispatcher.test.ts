import { randomUUID } from 'node:crypto';
import { Worker } from 'bullmq';
import { pino } from 'pino';
import { workerQueueName, type SegmentJob, type TranscodeJob } from '@segmint/protocol';
import { REDIS_BACKENDS, useTestRedis } from '../redis/testRedis.js';
import { blockingDuplicate, deleteKeys, eachMaster, scanKeys, type RedisClient } from '../redis/redisClient.js';
import { createMetrics } from '../metrics/metrics.js';
import { marketKeys } from '../marketplace/keys.js';
import { Registry } from '../marketplace/registry.js';
import { NoChainStake } from '../marketplace/stake.js';
import { MarketDispatcher } from './marketDispatcher.js';

const HEARTBEAT_TTL_MS = 3000;
const address = (n: number) => `0x${n.toString(16).padStart(40, '0')}`;
const job = (streamId: string, seq: number): SegmentJob => ({
  jobId: `${streamId}.1.${seq}`, streamId, seq,
  source: { videoCodec: 'h264', width: 1280, height: 720, frames: 30, fps: 30, durationSec: 1, startSec: 0, videoSha256: '0'.repeat(64), videoCodecString: 'avc1.64001f' },
  profiles: [{ name: '360p0', width: 640, height: 360, bitrate: 800_000, fps: 30 }],
  ingestedAt: Date.now(),
});
const until = async (what: () => Promise<boolean> | boolean, ms = 10_000) => {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 20))) if (await what()) return;
  throw new Error('timed out');
};

/**
 * The marketplace's Redis side (registry scripts, claims, deadlines, per-worker BullMQ queues) on
 * one Redis and on a 3-master Redis Cluster: every script's keys share a slot, none is built in Lua.
 */
describe.each(REDIS_BACKENDS)('marketplace on a %s', (backend) => {
  let redis: RedisClient;
  const prefix = `segmint-test-mkt-${randomUUID().slice(0, 8)}`;
  const k = marketKeys(prefix);
  const open: { close(): Promise<void> }[] = [];
  const ctx = useTestRedis(backend, prefix);
  beforeAll(() => {
    redis = ctx.redis;
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((x) => x.close()));
    await deleteKeys(redis, await scanKeys(redis, `${prefix}:*`));
  });

  /** A registry and a dispatcher (deadline deadlineMs), with `workers` registered at rising prices. */
  async function market(workers: number, maxConcurrent = 4, deadlineMs = 10_000) {
    const registry = await registered(workers, maxConcurrent);
    const dispatcher = new MarketDispatcher({
      redis, prefix, registry, rules: { minStake: 0n, maxPricePerPixel: 10n ** 18n }, attempts: 3,
      deadline: { factor: 0.1, minMs: deadlineMs }, waitLimitMs: 60_000, metrics: createMetrics(), logger: pino({ level: 'silent' }),
      links: (j, w) => ({ sourceUrl: `http://x/${j.jobId}/${w}`, resultUrl: `http://x/${j.jobId}/${w}`, token: 't' }),
    });
    open.push(dispatcher);
    return { registry, dispatcher, addresses: Array.from({ length: workers }, (_, i) => address(i + 1)) };
  }

  /** A registry (no dispatcher running its deadline loop) with `workers` registered at rising prices. */
  async function registered(workers: number, maxConcurrent = 4, expireMs?: number) {
    const registry = new Registry(redis, prefix, new NoChainStake(), HEARTBEAT_TTL_MS, expireMs === undefined ? {} : { expireMs });
    const addresses = Array.from({ length: workers }, (_, i) => address(i + 1));
    for (const [i, worker] of addresses.entries()) {
      await registry.register({
        worker, pricePerPixel: String(100 + i), nonce: '1', signature: `0x${'0'.repeat(130)}`,
        capabilities: { encoders: ['libx264'], maxConcurrent, cores: 4, maxHeight: 1080, fingerprint: 't' },
      });
    }
    return registry;
  }

  /** A BullMQ worker on `worker`'s queue handing each job to `run`. */
  function consume(worker: string, run: (job: TranscodeJob) => Promise<void>) {
    const connection = blockingDuplicate(redis);
    const w = new Worker<TranscodeJob>(workerQueueName(worker), async (j) => run(j.data), { connection, prefix, concurrency: 8 });
    open.push({ close: async () => (await w.close(), connection.disconnect()) });
    return w;
  }

  it('hands a segment to the cheapest worker through its own queue; settling frees the slot', async () => {
    const { dispatcher, registry, addresses } = await market(2);
    const got: TranscodeJob[] = [];
    consume(addresses[0]!, async (j) => {
      got.push(j);
      await dispatcher.settle(j, j.worker, { outcome: 'accepted' });
    });
    const streamId = randomUUID();
    await dispatcher.enqueue(job(streamId, 0));
    await until(() => got.length === 1);
    expect(got[0]).toMatchObject({ jobId: `${streamId}.1.0`, worker: addresses[0] });
    expect(await dispatcher.assignment(`${streamId}.1.0`, addresses[0]!)).toMatchObject({ pricePerPixel: '100' });
    await until(async () => (await registry.candidates()).find((c) => c.worker === addresses[0])!.inflight === 0);
    expect(await registry.tried(`${streamId}.1.0`)).toEqual([addresses[0]]);
  });

  it('re-auctions a segment whose worker missed its deadline to the next-best worker', async () => {
    const { dispatcher, registry, addresses } = await market(2, 4, 300);
    const slow: string[] = [];
    const fast: string[] = [];
    consume(addresses[0]!, async (j) => void slow.push(j.jobId)); // takes it and never answers
    consume(addresses[1]!, async (j) => {
      fast.push(j.jobId);
      await dispatcher.settle(j, j.worker, { outcome: 'accepted' });
    });
    const j = job(randomUUID(), 0);
    await dispatcher.enqueue(j);
    await until(() => fast.length === 1);
    expect(slow).toEqual([j.jobId]);
    expect((await registry.tried(j.jobId)).sort()).toEqual([addresses[0], addresses[1]].sort());
    expect((await registry.perf(addresses[0]!)).failures).toBe(1);
  });

  it('keeps segments waiting while every slot is taken and dispatches them as slots free up', async () => {
    const { dispatcher, addresses } = await market(2, 1);
    const held: TranscodeJob[] = [];
    const arrived: number[] = [];
    const done: string[] = [];
    for (const a of addresses) consume(a, async (j) => void (held.push(j), arrived.push(j.seq)));
    const streamId = randomUUID();
    for (let seq = 0; seq < 4; seq++) await dispatcher.enqueue(job(streamId, seq));
    await until(() => held.length === 2);
    expect(await redis.hlen(k.waiting)).toBe(2);
    const settleNext = async () => {
      const j = held.shift()!;
      done.push(j.jobId);
      await dispatcher.settle(j, j.worker, { outcome: 'accepted' });
    };
    // One slot freed at a time, so the arrival order is the dispatch order (two workers' consumers
    // would otherwise race): each freed slot takes the oldest segment still waiting.
    for (const arrivals of [3, 4]) {
      await settleNext();
      await until(() => arrived.length === arrivals);
    }
    while (held.length > 0) await settleNext();
    expect(new Set(done)).toEqual(new Set([0, 1, 2, 3].map((seq) => `${streamId}.1.${seq}`)));
    expect(arrived.slice(2)).toEqual([2, 3]); // the waiting ones oldest first
    await until(async () => (await redis.hlen(k.waiting)) === 0);
  });

  it('frees the slot of a late claim once its worker stops heartbeating, not before', async () => {
    const registry = await registered(1, 1);
    const addresses = [address(1)];
    const now = Date.now();
    expect(await registry.claim(addresses[0]!, 1, now - 1, 'j1', { assignment: '{}', ttlMs: 60_000 })).toBe(true);
    expect(await registry.expired(now, 1000)).toEqual([{ jobId: 'j1', worker: addresses[0] }]);
    // Within the grace: still held. At the grace end it heartbeated recently: held for another grace.
    expect(await registry.held('j1', [addresses[0]!])).toBe(true);
    await registry.heartbeat(addresses[0]!);
    await registry.expired(now + 1001, 1000);
    expect(await registry.held('j1', [addresses[0]!])).toBe(true);
    // Silent for longer than the heartbeat TTL: the next grace end frees its slot.
    await registry.expired(Date.now() + HEARTBEAT_TTL_MS + 3000, 1000);
    expect(await registry.held('j1', [addresses[0]!])).toBe(false);
    expect((await registry.candidates())[0]!.inflight).toBe(0);
  });

  it('forgets workers not seen for expireMs (registration and performance), keeps the others', async () => {
    const registry = await registered(2, 1, 60_000);
    const addresses = [address(1), address(2)];
    await registry.recordOutcome(addresses[0]!, true);
    await redis.zadd(k.seen, Date.now() - 61_000, addresses[0]!);
    expect(await registry.sweep()).toEqual([addresses[0]]);
    expect(await registry.record(addresses[0]!)).toBeNull();
    expect(await redis.exists(k.perf(addresses[0]!))).toBe(0);
    expect(await registry.record(addresses[1]!)).not.toBeNull();
    expect((await registry.candidates()).map((c) => [c.worker, c.heartbeatFresh])).toEqual([[addresses[1], true]]);
  });

  it('sees a registration and an exclusion at once (pushed), not at the next resync of its view', async () => {
    const { dispatcher, registry, addresses } = await market(1);
    const cheaper = address(9);
    const got: TranscodeJob[] = [];
    for (const a of [addresses[0]!, cheaper]) consume(a, async (j) => void (got.push(j), await dispatcher.settle(j, j.worker, { outcome: 'accepted' })));
    const streamId = randomUUID();
    await dispatcher.enqueue(job(streamId, 0)); // loads the view: one worker
    await until(() => got.length === 1);
    await registry.register({
      worker: cheaper, pricePerPixel: '50', nonce: '1', signature: `0x${'0'.repeat(130)}`,
      capabilities: { encoders: ['libx264'], maxConcurrent: 4, cores: 4, maxHeight: 1080, fingerprint: 't' },
    });
    await new Promise((r) => setTimeout(r, 100)); // far less than the view's resync (HEARTBEAT_TTL_MS / 3)
    await dispatcher.enqueue(job(streamId, 1));
    await until(() => got.length === 2);
    expect(got[1]!.worker).toBe(cheaper);
    await registry.exclude(cheaper, 60_000);
    await new Promise((r) => setTimeout(r, 100));
    await dispatcher.enqueue(job(streamId, 2));
    await until(() => got.length === 3);
    expect(got[2]!.worker).toBe(addresses[0]);
  });

  it('puts every market key in one slot, and each worker queue in its own', async () => {
    const { dispatcher, addresses } = await market(1);
    consume(addresses[0]!, async (j) => dispatcher.settle(j, j.worker, { outcome: 'accepted' }));
    await dispatcher.enqueue(job(randomUUID(), 0));
    await until(async () => (await scanKeys(redis, `${prefix}:*`)).some((key) => key.includes(':done:') || key.includes(':tried:')));
    const slots = new Set<number>();
    for (const key of await scanKeys(redis, `${prefix}:{mkt}:*`)) slots.add((await eachMaster(redis)[0]!.call('CLUSTER', 'KEYSLOT', key).catch(() => 0)) as number);
    if (backend === 'Redis Cluster') expect(slots.size).toBe(1);
    expect((await scanKeys(redis, `${prefix}:*`)).filter((key) => !key.startsWith(`${prefix}:{`))).toEqual([]);
  });
});
