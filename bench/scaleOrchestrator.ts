/**
 * One orchestrator of bench:scale (bench/scale.bench.ts), as its own process: a real orchestrator
 * (`startOrchestrator`: dispatcher, live and outbox sweeps, registry sweep, liveness beats, all on
 * the shared Redis) whose dispatcher is offered its share of the segments by CLIENTS producers as
 * fast as they are accepted (closed loop), and no-op workers: consumers of every registered
 * worker's queue that settle each job they take at once, as the orchestrator receiving its result
 * would (any orchestrator may receive it). Speaks JSON lines: `ready`; on "consume" starts the
 * consumers and says `consuming`; on "go" offers its segments
 * while reporting how many its consumers processed; on "stop" prints its first-offer time,
 * last-processed time and add → processor latencies (ms), and exits.
 */
import { noopSegmentJob } from './noopJob.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Worker } from 'bullmq';
import { pino } from 'pino';
import { workerQueueName, type SegmentJob, type TranscodeJob } from '@segmint/protocol';
import { loadOrchestratorConfig } from '../orchestrator/src/config.js';
import { startOrchestrator } from '../orchestrator/src/orchestrator.js';
import { createRedis } from '../orchestrator/src/redis/redisClient.js';

const env = (name: string) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (bench/scale.bench.ts starts this)`);
  return v;
};
const REDIS_URL = env('SCALE_REDIS_URL');
const CLUSTER = process.env.SCALE_REDIS_CLUSTER === '1';
const PREFIX = env('SCALE_PREFIX');
const INDEX = Number(env('SCALE_INDEX'));
const JOBS = Number(env('SCALE_JOBS'));
const CLIENTS = Number(env('SCALE_CLIENTS'));
const WORKERS = env('SCALE_WORKERS').split(',');
const CONCURRENCY = Number(env('SCALE_CONCURRENCY'));

const job = noopSegmentJob;

async function main(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'segmint-scale-bench-'));
  const config = loadOrchestratorConfig([], {
    REDIS_URL, SEGMINT_REDIS_CLUSTER: CLUSTER ? '1' : '0', SEGMINT_REDIS_PREFIX: PREFIX, DATA_DIR: dataDir,
    SEGMINT_HTTP_PORT: '0', SEGMINT_RTMP_PORT: '-1', SEGMINT_SECRET: 'scale-bench-'.padEnd(40, '0'),
    SEGMINT_HEARTBEAT_TTL_MS: '600000', SEGMINT_SPOTCHECK_RATE: '0', SEGMINT_QUALITY_CHECK_RATE: '0',
    SEGMINT_DEADLINE_FACTOR: '30', SEGMINT_DISPATCH_WAIT_MS: '600000', SEGMINT_REGISTER_RATE_LIMIT: '0',
    SEGMINT_IDLE_TIMEOUT: '3600', // the bench's live streams stay live (each sweep reads them every second)
  });
  const orch = await startOrchestrator(config, { logger: pino({ level: process.env.BENCH_LOG ?? 'silent' }) });
  const dispatcher = orch.pipeline.dispatcher;
  const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  const say = (o: object) => console.log(JSON.stringify(o));
  say({ ready: true });
  await lines.next(); // consume: the workers' consumers start (measured apart from the orchestrator's idle cost)
  const latencies: number[] = [];
  let lastProcessed = 0;
  let processed = 0;
  const consumers = WORKERS.map((address) => new Worker<TranscodeJob>(workerQueueName(address), async (j) => {
    const now = Date.now();
    latencies.push(now - j.data.ingestedAt);
    lastProcessed = now;
    processed++;
    await dispatcher.settle(j.data, address, { outcome: 'accepted' });
  }, { connection: createRedis({ url: REDIS_URL, cluster: CLUSTER }, { maxRetriesPerRequest: null }), prefix: PREFIX, concurrency: CONCURRENCY }));
  await Promise.all(consumers.map((c) => c.waitUntilReady()));
  say({ consuming: true });
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
  await orch.close();
  await rm(dataDir, { recursive: true, force: true });
  say({ processed, lastProcessed, latencies });
}

main().then(() => process.exit(0), (err: unknown) => {
  console.error(err);
  process.exit(1);
});
