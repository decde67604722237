/**
 * Dispatch on a Redis Cluster by 1, 2 and 3 orchestrators (issue 15 item 6). A 3-master cluster
 * of the bench's own (redis-server ×3, AOF everysec, password). Per N: N orchestrator processes
 * (bench/scaleOrchestrator.ts: MarketDispatcher, CLIENTS producers each, no-op consumers that
 * settle what they take) share one market of WORKERS registered no-op workers and offer JOBS
 * segments in all, as fast as they are accepted. Reported per N: segments/s (all segments over the
 * wall time from the first offer to the last processed), p50/p99 add → processor, and Redis
 * commands and Redis CPU per segment summed over the three masters (INFO commandstats and INFO cpu
 * deltas: commands inside scripts counted). Every N runs the same work on the same cluster; the
 * machine's cores are shared by all of them, the cluster included (2 cores here), so the figures
 * say what the design allows on one box, not what N boxes would do.
 * Last line: `scale: 1→3 orchestrators X seg/s → Y seg/s, Z redis commands/segment`.
 * Usage: npm run bench:scale [-- --jobs 6000 --clients 16 --workers 8]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { rm } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { Registry } from '../orchestrator/src/marketplace/registry.js';
import { NoChainStake } from '../orchestrator/src/marketplace/stake.js';
import { startRedisCluster, type LocalRedisCluster } from '../orchestrator/src/demo/localRedis.js';
import { createRedis, eachMaster, type RedisClient } from '../orchestrator/src/redis/redisClient.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const JOBS = arg('--jobs', 6000);
const CLIENTS = arg('--clients', 16);
const WORKERS = arg('--workers', 8);
const SLOTS = 64;
const ROOT = resolve(import.meta.dirname, '..');

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))] ?? NaN;

type Child = { proc: ChildProcess; next(): Promise<Record<string, unknown>>; processed: number };
type Cost = { calls: number; cpuSec: number };

/** Commands called (scripts' inner calls included, INFO left out) and CPU seconds, summed over the masters. */
async function clusterCost(redis: RedisClient): Promise<Cost> {
  let calls = 0;
  let cpuSec = 0;
  for (const node of eachMaster(redis)) {
    const [stats, cpu] = await Promise.all([(node as Redis).info('commandstats'), (node as Redis).info('cpu')]);
    for (const m of stats.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) if (m[1] !== 'info') calls += Number(m[2]);
    const num = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(cpu)?.[1] ?? 0);
    cpuSec += num('used_cpu_user') + num('used_cpu_sys');
  }
  return { calls, cpuSec };
}

function spawnOrchestrator(cluster: LocalRedisCluster, prefix: string, index: number, jobs: number, workers: string[], n: number): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/scaleOrchestrator.ts')], {
    cwd: ROOT,
    env: {
      ...process.env, SCALE_REDIS_URL: cluster.url, SCALE_PREFIX: prefix, SCALE_INDEX: String(index), SCALE_JOBS: String(jobs),
      SCALE_CLIENTS: String(CLIENTS), SCALE_WORKERS: workers.join(','), SCALE_CONCURRENCY: String(Math.ceil(SLOTS / n)),
    },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const child: Child = { proc, processed: 0, next: async () => ({}) };
  const waiting: ((v: Record<string, unknown>) => void)[] = [];
  const queued: Record<string, unknown>[] = [];
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    const msg = JSON.parse(line) as Record<string, unknown>;
    if ('processed' in msg && Object.keys(msg).length === 1) return void (child.processed = msg.processed as number);
    const w = waiting.shift();
    if (w) w(msg);
    else queued.push(msg);
  });
  child.next = () => (queued.length ? Promise.resolve(queued.shift()!) : new Promise((r) => waiting.push(r)));
  return child;
}

async function run(cluster: LocalRedisCluster, admin: RedisClient, n: number) {
  const prefix = `scale-${randomUUID().slice(0, 8)}`;
  const registry = new Registry(admin, prefix, new NoChainStake(), 600_000);
  const workers = Array.from({ length: WORKERS }, (_, i) => `0x${String(i + 1).padStart(40, '0')}`);
  for (const [i, worker] of workers.entries()) {
    await registry.register({
      worker, pricePerPixel: String(100 + i), nonce: '1', signature: `0x${'0'.repeat(130)}`, // signatures are the HTTP route's to check
      capabilities: { encoders: ['libx264'], maxConcurrent: SLOTS, cores: 8, maxHeight: 2160, fingerprint: 'bench' },
    });
  }
  const share = Math.floor(JOBS / n);
  const children = Array.from({ length: n }, (_, i) => spawnOrchestrator(cluster, prefix, i, share, workers, n));
  try {
    for (const c of children) await c.next(); // ready
    const before = await clusterCost(admin);
    for (const c of children) c.proc.stdin!.write('go\n');
    const offers = await Promise.all(children.map((c) => c.next()));
    while (children.reduce((t, c) => t + c.processed, 0) < share * n) await new Promise((r) => setTimeout(r, 50));
    for (const c of children) c.proc.stdin!.write('stop\n');
    const ends = await Promise.all(children.map((c) => c.next()));
    const after = await clusterCost(admin);
    const started = Math.min(...offers.map((o) => o.started as number));
    const last = Math.max(...ends.map((e) => e.lastProcessed as number));
    const latencies = ends.flatMap((e) => e.latencies as number[]);
    const total = share * n;
    return {
      n, perSecond: total / ((last - started) / 1000), p50: pct(latencies, 50), p99: pct(latencies, 99),
      commands: (after.calls - before.calls) / total, cpuUs: ((after.cpuSec - before.cpuSec) * 1e6) / total,
    };
  } finally {
    for (const c of children) if (c.proc.exitCode === null) c.proc.kill();
  }
}

async function main(): Promise<void> {
  console.log(`starting a 3-master Redis Cluster (redis-server ×3, AOF everysec, password)…`);
  const cluster = await startRedisCluster();
  const admin = createRedis({ url: cluster.url, cluster: true });
  const loadStart = loadavg().map((x) => x.toFixed(2)).join(' ');
  try {
    console.log(`${JOBS} no-op segments per run, ${CLIENTS} producers per orchestrator, ${WORKERS} workers × ${SLOTS} slots`);
    const rows = [];
    for (const n of [1, 2, 3]) {
      const r = await run(cluster, admin, n);
      rows.push(r);
      console.log(`  ${n} orchestrator${n > 1 ? 's' : ' '}  ${Math.round(r.perSecond)} seg/s   p50 ${r.p50} ms   p99 ${r.p99} ms   ${r.commands.toFixed(1)} redis commands/segment   redis cpu ${r.cpuUs.toFixed(0)} µs/segment`);
    }
    console.log(`load average: ${loadStart} at the start, ${loadavg().map((x) => x.toFixed(2)).join(' ')} at the end (2 cores shared by orchestrators, consumers and the cluster)`);
    const [one, , three] = rows;
    console.log(`scale: 1→3 orchestrators ${Math.round(one!.perSecond)} seg/s → ${Math.round(three!.perSecond)} seg/s, ${three!.commands.toFixed(1)} redis commands/segment`);
  } finally {
    admin.disconnect();
    await cluster.stop();
    await rm(cluster.dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
