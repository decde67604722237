/**
 * Dispatch by 1, 2 and 3 orchestrator processes on one Redis (issue 15 item 6): the bench's own
 * redis-server (password, AOF everysec, as production runs it), or with `--cluster` a 3-master
 * Redis Cluster of its own (only where the orchestrator runs on a cluster: it refuses to start on
 * one until the marketplace is cluster-ready). Per N: N orchestrator processes
 * (bench/scaleOrchestrator.ts: real orchestrators, sweeps and all, CLIENTS producers each, no-op
 * workers' consumers that settle what they take) share one market of WORKERS registered workers
 * and offer JOBS segments in all, as fast as they are accepted. Reported per N:
 * - idle: Redis commands/s and Redis CPU with the N orchestrators started and nothing to dispatch,
 *   STREAMS live streams on the Redis (their sweeps and beats: what each added orchestrator costs
 *   the Redis; the workers' consumers start after this);
 * - segments/s (all segments over the wall time from the first offer to the last processed),
 *   p50/p99 add → processor, and Redis commands and Redis CPU per segment, summed over every
 *   master (INFO commandstats and INFO cpu deltas; commands inside scripts counted).
 * Every N runs the same work on the same Redis; the machine's cores are shared by all of them,
 * Redis included, so the figures say what the design allows on one box, not what N boxes would.
 * Last line: `scale: 1→3 orchestrators X seg/s → Y seg/s, Z redis commands/segment` (Z at N = 3).
 * Usage: npm run bench:scale [-- --jobs 6000 --clients 16 --workers 8 --streams 200 --idle-sec 6 --cluster]
 *   (--n 3: only that N, no last line; --cpu-prof DIR: a V8 CPU profile of each orchestrator process)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { rm } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import { ConfigError, loadOrchestratorConfig } from '../orchestrator/src/config.js';
import { liveKeys } from '@segmint/protocol';
import { LiveState } from '../orchestrator/src/live/liveState.js';
import { Registry } from '../orchestrator/src/marketplace/registry.js';
import { NoChainStake } from '../orchestrator/src/marketplace/stake.js';
import { startRedisCluster, startRedisServer } from '../orchestrator/src/demo/localRedis.js';
import { createRedis, eachMaster, type RedisClient } from '../orchestrator/src/redis/redisClient.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const JOBS = arg('--jobs', 6000);
const CLIENTS = arg('--clients', 16);
const WORKERS = arg('--workers', 8);
const IDLE_SEC = arg('--idle-sec', 6);
const STREAMS = arg('--streams', 200);
const CLUSTER = process.argv.includes('--cluster');
const ONLY = process.argv.includes('--n') ? process.argv[process.argv.indexOf('--n') + 1]!.split(',').map(Number) : [1, 2, 3];
/** `--cpu-prof DIR`: each orchestrator process writes a V8 CPU profile there (where its time goes). */
const CPU_PROF = process.argv.includes('--cpu-prof') ? resolve(process.argv[process.argv.indexOf('--cpu-prof') + 1]!) : null;
const SLOTS = 64;
const ROOT = resolve(import.meta.dirname, '..');

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))] ?? NaN;
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');

type Redis = { url: string; cluster: boolean; stop(): Promise<void> };
type Child = { proc: ChildProcess; next(): Promise<Record<string, unknown>>; processed: number };
type Cost = { calls: number; cpuSec: number; at: number; byCommand: Map<string, number> };

/** Commands called (scripts' inner calls included, INFO left out) and CPU seconds, summed over the masters. */
async function redisCost(redis: RedisClient): Promise<Cost> {
  let calls = 0;
  let cpuSec = 0;
  const byCommand = new Map<string, number>();
  for (const node of eachMaster(redis)) {
    const [stats, cpu] = await Promise.all([node.info('commandstats'), node.info('cpu')]);
    for (const m of stats.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
      if (m[1] === 'info') continue;
      calls += Number(m[2]);
      byCommand.set(m[1]!, (byCommand.get(m[1]!) ?? 0) + Number(m[2]));
    }
    const num = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(cpu)?.[1] ?? 0);
    cpuSec += num('used_cpu_user') + num('used_cpu_sys');
  }
  return { calls, cpuSec, at: performance.now(), byCommand };
}

function spawnOrchestrator(redis: Redis, prefix: string, index: number, jobs: number, workers: string[], n: number): Child {
  // one file per thread (tsx's module loader runs in its own): the main thread's is the largest
  const prof = CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', join(CPU_PROF, `n${n}-orchestrator${index}`)] : [];
  const proc = spawn(process.execPath, [...prof, '--import', 'tsx', join(ROOT, 'bench/scaleOrchestrator.ts')], {
    cwd: ROOT,
    env: {
      ...process.env, SCALE_REDIS_URL: redis.url, SCALE_REDIS_CLUSTER: redis.cluster ? '1' : '0', SCALE_PREFIX: prefix, SCALE_INDEX: String(index),
      SCALE_JOBS: String(jobs), SCALE_CLIENTS: String(CLIENTS), SCALE_WORKERS: workers.join(','), SCALE_CONCURRENCY: String(Math.ceil(SLOTS / n)),
    },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const child: Child = { proc, processed: 0, next: async () => ({}) };
  const waiting: ((v: Record<string, unknown>) => void)[] = [];
  const queued: Record<string, unknown>[] = [];
  const exited = new Promise<never>((_, reject) => proc.once('exit', (code) => reject(new Error(`orchestrator ${index} exited (${code})`))));
  exited.catch(() => {});
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    if (!line.startsWith('{')) return;
    const msg = JSON.parse(line) as Record<string, unknown>;
    if ('processed' in msg && Object.keys(msg).length === 1) return void (child.processed = msg.processed as number);
    const w = waiting.shift();
    if (w) w(msg);
    else queued.push(msg);
  });
  child.next = () => Promise.race([exited, queued.length ? Promise.resolve(queued.shift()!) : new Promise<Record<string, unknown>>((r) => waiting.push(r))]);
  return child;
}

async function registerWorkers(admin: RedisClient, prefix: string): Promise<string[]> {
  const registry = new Registry(admin, prefix, new NoChainStake(), 600_000);
  const workers = Array.from({ length: WORKERS }, (_, i) => `0x${String(i + 1).padStart(40, '0')}`);
  for (const [i, worker] of workers.entries()) {
    await registry.register({
      worker, pricePerPixel: String(100 + i), nonce: '1', signature: `0x${'0'.repeat(130)}`, // signatures are the HTTP route's to check
      capabilities: { encoders: ['libx264'], maxConcurrent: SLOTS, cores: 8, maxHeight: 2160, fingerprint: 'bench' },
    });
    await registry.heartbeat(worker);
  }
  return workers;
}

/**
 * STREAMS live streams, each with one published segment and nothing in flight: what the sweeps of
 * every orchestrator read each second. Their outboxes are emptied (the bench's orchestrators know
 * no such streams).
 */
async function liveStreams(admin: RedisClient, prefix: string): Promise<void> {
  const live = new LiveState(admin, prefix);
  const entry = { seq: 0, session: 1, durationSec: 2, ingestedAt: Date.now(), renditions: {} };
  await Promise.all(Array.from({ length: STREAMS }, async (_, i) => {
    const streamId = `live-${i}`;
    await live.admit(streamId, 0, '0'.repeat(64));
    await live.resolve(streamId, 0, entry, 10);
    await admin.del(liveKeys(prefix, streamId).outbox);
  }));
}

async function run(redis: Redis, admin: RedisClient, n: number) {
  const prefix = `scale-${randomUUID().slice(0, 8)}`;
  const workers = await registerWorkers(admin, prefix);
  await liveStreams(admin, prefix);
  const share = Math.floor(JOBS / n);
  const children = Array.from({ length: n }, (_, i) => spawnOrchestrator(redis, prefix, i, share, workers, n));
  try {
    for (const c of children) await c.next(); // ready
    await new Promise((r) => setTimeout(r, 3000)); // past their start-up sweeps
    const idleFrom = await redisCost(admin);
    await new Promise((r) => setTimeout(r, IDLE_SEC * 1000));
    const idleTo = await redisCost(admin);
    const idleSec = (idleTo.at - idleFrom.at) / 1000;
    for (const c of children) c.proc.stdin!.write('consume\n');
    for (const c of children) await c.next(); // consuming
    const before = await redisCost(admin);
    for (const c of children) c.proc.stdin!.write('go\n');
    const offers = await Promise.all(children.map((c) => c.next()));
    while (children.reduce((t, c) => t + c.processed, 0) < share * n) await new Promise((r) => setTimeout(r, 50));
    for (const c of children) c.proc.stdin!.write('stop\n');
    const ends = await Promise.all(children.map((c) => c.next()));
    const after = await redisCost(admin);
    const started = Math.min(...offers.map((o) => o.started as number));
    const last = Math.max(...ends.map((e) => e.lastProcessed as number));
    const latencies = ends.flatMap((e) => e.latencies as number[]);
    const total = share * n;
    return {
      n, perSecond: total / ((last - started) / 1000), p50: pct(latencies, 50), p99: pct(latencies, 99),
      commands: (after.calls - before.calls) / total, cpuUs: ((after.cpuSec - before.cpuSec) * 1e6) / total,
      idleCommandsPerSec: (idleTo.calls - idleFrom.calls) / idleSec, idleCpuPct: ((idleTo.cpuSec - idleFrom.cpuSec) / idleSec) * 100,
      top: [...after.byCommand].map(([name, c]) => [name, (c - (before.byCommand.get(name) ?? 0)) / total] as const).sort((x, y) => y[1] - x[1]).slice(0, 6),
    };
  } finally {
    // they exit by themselves after "stop" (writing their CPU profiles): killed only if they do not
    await Promise.all(children.map((c) => c.proc.exitCode !== null || new Promise((r) => setTimeout(r, 10_000).unref() && c.proc.once('exit', r))));
    for (const c of children) if (c.proc.exitCode === null) c.proc.kill();
  }
}

/** The bench's own Redis: one redis-server, or (`--cluster`) a 3-master cluster when the orchestrator runs on one. */
async function startRedis(): Promise<Redis> {
  if (!CLUSTER) {
    const r = await startRedisServer();
    console.log('redis: one redis-server of the bench\'s own (password, AOF everysec)');
    const stop = async () => {
      r.child.kill();
      await rm(r.dir, { recursive: true, force: true });
    };
    return { url: r.url, cluster: false, stop };
  }
  try {
    loadOrchestratorConfig([], { SEGMINT_REDIS_CLUSTER: '1' });
  } catch (err) {
    if (err instanceof ConfigError) throw new Error(`--cluster: orchestrators do not run on a Redis Cluster in this build (${err.message})`);
    throw err;
  }
  const c = await startRedisCluster();
  console.log('redis: a 3-master Redis Cluster of the bench\'s own (redis-server ×3, AOF everysec, password)');
  const stop = async () => {
    await c.stop();
    await rm(c.dir, { recursive: true, force: true });
  };
  return { url: c.url, cluster: true, stop };
}

async function main(): Promise<void> {
  const redis = await startRedis();
  const admin = createRedis({ url: redis.url, cluster: redis.cluster });
  const loadStart = load();
  try {
    console.log(`${JOBS} no-op segments per run, ${CLIENTS} producers per orchestrator, ${WORKERS} workers × ${SLOTS} slots, ${STREAMS} live streams idle; load average ${loadStart}`);
    const rows = [];
    for (const n of ONLY) {
      const r = await run(redis, admin, n);
      rows.push(r);
      console.log(`  ${n} orchestrator${n > 1 ? 's' : ' '}  idle: ${r.idleCommandsPerSec.toFixed(0)} redis commands/s, redis cpu ${r.idleCpuPct.toFixed(2)} %   dispatch: ${Math.round(r.perSecond)} seg/s   p50 ${r.p50} ms   p99 ${r.p99} ms   ${r.commands.toFixed(1)} redis commands/segment   redis cpu ${r.cpuUs.toFixed(0)} µs/segment   (load ${load()})`);
    }
    console.log(`load average: ${loadStart} at the start, ${load()} at the end (2 cores shared by the orchestrators, their consumers, Redis and whatever else runs on this machine)`);
    for (const r of rows) console.log(`  N=${r.n} most used per segment: ${r.top.map(([c, k]) => `${c} ${k.toFixed(1)}`).join(', ')}`);
    const one = rows.find((r) => r.n === 1);
    const three = rows.find((r) => r.n === 3);
    if (!one || !three) return;
    console.log(`scale: 1→3 orchestrators ${Math.round(one!.perSecond)} seg/s → ${Math.round(three!.perSecond)} seg/s, ${three!.commands.toFixed(1)} redis commands/segment`);
  } finally {
    admin.disconnect();
    await redis.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
