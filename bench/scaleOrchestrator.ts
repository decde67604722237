/**
 * One orchestrator of bench:scale (bench/scale.bench.ts), as its own process: a MarketDispatcher
 * on the shared Redis Cluster, CLIENTS producers offering its share of the segments as fast as
 * they are accepted (closed loop), and no-op consumers on the workers' queues that settle each job
 * they take as the orchestrator receiving its result would (any orchestrator may receive it).
 * Reads its orders from the environment and speaks JSON lines: `ready`, then on a "go" line offers
 * its segments while reporting how many its consumers processed; on a "stop" line prints its
 * first-offer time, last-processed time and add → processor latencies (ms), and exits.
 */
import { createInterface } from 'node:readline';
import { Worker } from 'bullmq';
import { pino } from 'pino';
import { workerQueueName, type SegmentJob, type TranscodeJob } from '@segmint/protocol';
import { MarketDispatcher } from '../orchestrator/src/dispatch/marketDispatcher.js';
import { Registry } from '../orchestrator/src/marketplace/registry.js';
import { NoChainStake } from '../orchestrator/src/marketplace/stake.js';
import { createMetrics } from '../orchestrator/src/metrics/metrics.js';
import { createRedis } from '../orchestrator/src/redis/redisClient.js';

const env = (name: string) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (bench/scale.bench.ts starts this)`);
  return v;
};
const REDIS_URL = env('SCALE_REDIS_URL');
const PREFIX = env('SCALE_PREFIX');
const INDEX = Number(env('SCALE_INDEX'));
const JOBS = Number(env('SCALE_JOBS'));
const CLIENTS = Number(env('SCALE_CLIENTS'));
const WORKERS = env('SCALE_WORKERS').split(',');
const CONCURRENCY = Number(env('SCALE_CONCURRENCY'));

const job = (streamId: string, i: number): SegmentJob => ({
  jobId: `${streamId}.1.${i}`,
  streamId,
  seq: i,
  source: { videoCodec: 'h264', width: 1280, height: 720, frames: 60, fps: 30, durationSec: 2, startSec: 0, videoSha256: '0'.repeat(64), videoCodecString: 'avc1.64001f' },
  profiles: [{ name: '360p0', width: 640, height: 360, bitrate: 800_000, fps: 30 }],
  ingestedAt: Date.now(),
});

async function main(): Promise<void> {
  // The orchestrator's own connection options (orchestrator.ts).
  const redis = createRedis({ url: REDIS_URL, cluster: true }, { maxRetriesPerRequest: 3, enableAutoPipelining: true });
  const registry = new Registry(redis, PREFIX, new NoChainStake(), 600_000);
  const dispatcher = new MarketDispatcher({
    redis, prefix: PREFIX, registry,
    rules: { minStake: 0n, maxPricePerPixel: 10n ** 18n },
    attempts: 3, deadline: { factor: 30, minMs: 1000 }, waitLimitMs: 600_000,
    links: (j, worker) => ({ sourceUrl: `http://x/${j.jobId}/${worker}/source.ts`, resultUrl: `http://x/${j.jobId}/${worker}`, token: 't' }),
    metrics: createMetrics(),
    logger: pino({ level: process.env.BENCH_LOG ?? 'silent' }),
  });
  const latencies: number[] = [];
  let lastProcessed = 0;
  let processed = 0;
  const consumers = WORKERS.map((address) => new Worker<TranscodeJob>(workerQueueName(address), async (j) => {
    const now = Date.now();
    latencies.push(now - j.data.ingestedAt);
    lastProcessed = now;
    processed++;
    await dispatcher.settle(j.data, address, { outcome: 'accepted' });
  }, { connection: createRedis({ url: REDIS_URL, cluster: true }, { maxRetriesPerRequest: null }), prefix: PREFIX, concurrency: CONCURRENCY }));
  await Promise.all(consumers.map((c) => c.waitUntilReady()));
  const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  const say = (o: object) => console.log(JSON.stringify(o));
  say({ ready: true });
  await lines.next(); // go

  const streamId = `scale-${INDEX}-${Date.now()}`;
  const started = Date.now();
  const progress = setInterval(() => say({ processed }), 100);
  let next = 0;
  await Promise.all(Array.from({ length: CLIENTS }, async () => {
    while (next < JOBS) await dispatcher.enqueue(job(streamId, next++));
  }));
  say({ started, offeredAt: Date.now() });
  await lines.next(); // stop: every segment of every process was processed somewhere
  clearInterval(progress);
  await Promise.all(consumers.map((c) => c.close()));
  await dispatcher.close();
  redis.disconnect();
  say({ processed, lastProcessed, latencies });
}

main().then(() => process.exit(0), (err: unknown) => {
  console.error(err);
  process.exit(1);
});
