/**
 * Segmint's dispatch (auction + slot claim + per-worker BullMQ queue + settlement) vs raw BullMQ,
 * with no-op workers, in one process against the same Redis.
 * raw:     Queue.add → a Worker's processor is called (4 Workers on one queue).
 * segmint: MarketDispatcher.enqueue → the winning worker's processor is called (4 registered
 *          workers, each a Worker on its own queue; each job is settled as accepted, which frees
 *          its slot, as the result handler does).
 * Latency: jobs offered at a steady RATE (below saturation), add → processor called, in ROUNDS
 * rounds alternating raw and Segmint; the median of the per-round p50/p99 is reported.
 * Throughput: CLIENTS producers offer jobs as fast as they are accepted (closed loop). Under
 * saturation Segmint holds jobs back until a worker has a free slot (a worker's queue never holds
 * more than its slots: a live segment must not wait behind a backlog), raw BullMQ piles them up.
 * Prints p50/p99 and segments/s for both, and Redis commands per segment in the throughput run (INFO
 * commandstats, commands inside scripts included: what sets a cluster's capacity); last line
 * `dispatch p99 vs raw bullmq: X.XXx, N seg/s, C redis commands/segment`
 * (p99 from the latency run, seg/s and commands from the throughput run).
 * Without REDIS_URL it starts its own redis-server, so other clients' commands are not counted.
 * Usage: npm run bench:dispatch [-- --jobs 5000 --clients 32 --rate 1000 --rounds 5]
 */
import { noopSegmentJob } from './noopJob.js';
import { randomUUID } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { workerQueueName, type SegmentJob, type TranscodeJob } from '@segmint/protocol';
import { MarketDispatcher } from '../orchestrator/src/dispatch/marketDispatcher.js';
import { Registry } from '../orchestrator/src/marketplace/registry.js';
import { NoChainStake } from '../orchestrator/src/marketplace/stake.js';
import { createMetrics } from '../orchestrator/src/metrics/metrics.js';
import { startRedisServer } from '../orchestrator/src/demo/localRedis.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const JOBS = arg('--jobs', 5000);
const CLIENTS = arg('--clients', 32);
const RATE = arg('--rate', 1000);
const ROUNDS = arg('--rounds', 5);
const WORKERS = 4;
const own = process.env.REDIS_URL ? null : await startRedisServer();
const REDIS_URL = process.env.REDIS_URL ?? own!.url;

/** Redis commands executed (scripts' inner commands included) while `run` runs. */
async function counted<T>(run: () => Promise<T>): Promise<{ out: T; commands: number }> {
  const admin = new Redis(REDIS_URL);
  const total = async () => [...(await admin.info('commandstats')).matchAll(/calls=(\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
  const before = await total();
  const out = await run();
  const commands = (await total()) - before - 1; // minus the INFO itself
  admin.disconnect();
  return { out, commands };
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]!;

type RunReturnType = { latencies: number[]; perSecond: number };

type Load = { kind: 'closed'; clients: number } | { kind: 'open'; perSecond: number };

/** Offers `jobs` jobs through `offer` under `load`; resolves when every one was processed. */
async function drive(jobs: number, load: Load, offer: (i: number) => Promise<void>, processed: Map<number, number>): Promise<RunReturnType> {
  const started = new Map<number, number>();
  const all = new Promise<void>((resolve) => {
    const check = setInterval(() => {
      if (processed.size >= jobs) {
        clearInterval(check);
        resolve();
      }
    }, 2);
  });
  const t0 = performance.now();
  let next = 0;
  const one = (i: number) => {
    started.set(i, performance.now());
    return offer(i);
  };
  if (load.kind === 'closed') {
    // As fast as it goes: each producer offers its next job once the last one was accepted.
    await Promise.all(Array.from({ length: load.clients }, async () => {
      while (next < jobs) await one(next++);
    }));
  } else {
    // A steady rate below saturation: latency is then the path's own cost, not queueing.
    const pending: Promise<void>[] = [];
    while (next < jobs) {
      const due = Math.min(jobs, Math.floor(((performance.now() - t0) / 1000) * load.perSecond) + 1);
      while (next < due) pending.push(one(next++));
      await new Promise((r) => setTimeout(r, 1));
    }
    await Promise.all(pending);
  }
  await all;
  const elapsed = (performance.now() - t0) / 1000;
  const latencies = [...started].map(([i, t]) => processed.get(i)! - t);
  return { latencies, perSecond: jobs / elapsed };
}

async function rawBullmq(prefix: string, jobs: number, load: Load): Promise<RunReturnType> {
  const processed = new Map<number, number>();
  const connection = { url: REDIS_URL };
  const queue = new Queue<{ i: number }>('raw', { connection, prefix, defaultJobOptions: { removeOnComplete: true } });
  const workers = Array.from({ length: WORKERS }, () =>
    new Worker<{ i: number }>('raw', async (job) => void processed.set(job.data.i, performance.now()), { connection, prefix, concurrency: 64 }),
  );
  await Promise.all([queue.waitUntilReady(), ...workers.map((w) => w.waitUntilReady())]);
  const out = await drive(jobs, load, async (i) => void (await queue.add('j', { i }, { jobId: `raw-${i}` })), processed);
  await Promise.all([...workers.map((w) => w.close()), queue.close()]);
  return out;
}

async function segmintDispatch(prefix: string, jobs: number, load: Load): Promise<RunReturnType> {
  const processed = new Map<number, number>();
  const redis = new Redis(REDIS_URL);
  const registry = new Registry(redis, prefix, new NoChainStake(), 60_000);
  const metrics = createMetrics();
  const dispatcher = new MarketDispatcher({
    redis,
    prefix,
    registry,
    rules: { minStake: 0n, maxPricePerPixel: 10n ** 18n },
    attempts: 3,
    deadline: { factor: 30, minMs: 1000 },
    waitLimitMs: 600_000,
    links: (job, worker) => ({ sourceUrl: `http://x/${job.jobId}/${worker}/source.ts`, resultUrl: `http://x/${job.jobId}/${worker}`, token: 't' }),
    metrics,
    logger: pino({ level: 'silent' }),
  });
  const addresses = Array.from({ length: WORKERS }, (_, i) => `0x${String(i + 1).padStart(40, '0')}`);
  for (const [n, worker] of addresses.entries()) {
    await registry.register({
      worker,
      pricePerPixel: String(100 + n),
      capabilities: { encoders: ['libx264'], maxConcurrent: 64, cores: 8, maxHeight: 2160, fingerprint: 'bench' },
      nonce: '1',
      signature: `0x${'0'.repeat(130)}`, // registration signatures are checked by the HTTP route, not here
    });
  }
  const workers = addresses.map(
    (address) =>
      new Worker<TranscodeJob>(
        workerQueueName(address),
        async (job) => {
          processed.set(Number(job.data.seq), performance.now());
          await dispatcher.settle(job.data, address, { outcome: 'accepted' });
        },
        { connection: { url: REDIS_URL }, prefix, concurrency: 64 },
      ),
  );
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  const streamId = randomUUID();
  const job = (i: number): SegmentJob => noopSegmentJob(streamId, i);
  let enqueueMs = 0;
  const out = await drive(jobs, load, async (i) => {
    const t = performance.now();
    await dispatcher.enqueue(job(i));
    enqueueMs += performance.now() - t;
  }, processed);
  if (process.env.BENCH_DEBUG) console.log({ meanEnqueueMs: enqueueMs / jobs, auctions: (await metrics.auctions.get()).values.map((v) => [v.labels.outcome, v.value]) });
  await Promise.all(workers.map((w) => w.close()));
  await dispatcher.close();
  redis.disconnect();
  return out;
}

async function main() {
  const base = `segmint-bench-${randomUUID().slice(0, 8)}`;
  let n = 0;
  const prefix = () => `${base}-${n++}`;
  const row = (name: string, r: RunReturnType) =>
    console.log(`  ${name.padEnd(16)} p50 ${pct(r.latencies, 50).toFixed(2)} ms   p99 ${pct(r.latencies, 99).toFixed(2)} ms   ${Math.round(r.perSecond)} seg/s`);

  console.log('warming up both paths (connections, Lua scripts, JIT)…');
  await rawBullmq(prefix(), 500, { kind: 'closed', clients: CLIENTS });
  await segmintDispatch(prefix(), 500, { kind: 'closed', clients: CLIENTS });

  // Latency rounds alternate raw and Segmint so both see the same machine noise; per-round p99s,
  // median over rounds.
  console.log(`latency: ${ROUNDS} alternating rounds of ${Math.round(JOBS / ROUNDS)} no-op jobs at ${RATE}/s to ${WORKERS} workers (add → processor called)`);
  const rawRounds: RunReturnType[] = [];
  const ourRounds: RunReturnType[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    rawRounds.push(await rawBullmq(prefix(), Math.round(JOBS / ROUNDS), { kind: 'open', perSecond: RATE }));
    ourRounds.push(await segmintDispatch(prefix(), Math.round(JOBS / ROUNDS), { kind: 'open', perSecond: RATE }));
  }
  const medianOf = (rs: RunReturnType[], p: number) => [...rs.map((r) => pct(r.latencies, p))].sort((a, b) => a - b)[Math.floor(rs.length / 2)]!;
  const latencyRow = (name: string, rs: RunReturnType[]) =>
    console.log(`  ${name.padEnd(16)} p50 ${medianOf(rs, 50).toFixed(2)} ms   p99 ${medianOf(rs, 99).toFixed(2)} ms   (p99 per round: ${rs.map((r) => pct(r.latencies, 99).toFixed(1)).join(', ')})`);
  latencyRow('raw bullmq', rawRounds);
  latencyRow('segmint dispatch', ourRounds);

  console.log(`throughput: ${JOBS} no-op jobs from ${CLIENTS} producers as fast as they go`);
  const { out: rawMax, commands: rawCommands } = await counted(() => rawBullmq(prefix(), JOBS, { kind: 'closed', clients: CLIENTS }));
  const { out: ourMax, commands: ourCommands } = await counted(() => segmintDispatch(prefix(), JOBS, { kind: 'closed', clients: CLIENTS }));
  row('raw bullmq', rawMax);
  row('segmint dispatch', ourMax);
  const perSegment = (n: number) => (n / JOBS).toFixed(1);
  console.log(`  redis commands per segment: raw bullmq ${perSegment(rawCommands)}, segmint dispatch ${perSegment(ourCommands)} (setup and teardown included)`);

  const redis = new Redis(REDIS_URL);
  const keys = await redis.keys(`${base}-*`);
  for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
  redis.disconnect();
  const ratio = medianOf(ourRounds, 99) / medianOf(rawRounds, 99);
  console.log(`dispatch p99 vs raw bullmq: ${ratio.toFixed(2)}x, ${Math.round(ourMax.perSecond)} seg/s, ${perSegment(ourCommands)} redis commands/segment`);
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => own?.child.kill());
