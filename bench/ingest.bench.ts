/**
 * RTMP ingest at scale: N concurrent ffmpeg `-re -c copy` publishers of a generated 720p30
 * 2.5 Mb/s H.264 + AAC file into one orchestrator with transcoding off (no worker: the bench
 * counts the segments the RTMP ingest hands to ingestSegment). Baseline in the same run: the same
 * publishers into nginx-rtmp with `hls on` (Debian's libnginx-mod-rtmp; installed when missing
 * and running as root).
 *
 * CPU per stream = this process (which runs the orchestrator, segmenting in process: no child
 * processes of its own) plus the Redis server it uses (its own `redis-server`, started here as
 * production runs it: password, AOF everysec; it admits every segment and holds its job), over
 * the publish time, divided by N; publishers are not counted. The Redis share is printed apart.
 * Same for nginx's processes (nginx needs no Redis).
 * Segmint and nginx take turns at each N; with --rounds R each pair runs R times and the medians
 * are reported. Last line: `ingest: N streams, D dropped segments, X% cpu/stream (redis Y% of it), R× nginx-rtmp` for the largest N.
 * Usage: npm run bench:ingest [-- --streams 1,10,50,100 --seconds 20 --rounds 1 --no-nginx]
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { ffmpegPath, run } from '@segmint/media';
import { openDatabase } from '../orchestrator/src/db/database.js';
import { startRedisServer } from '../orchestrator/src/demo/localRedis.js';
import { startTestOrchestrator, type TestOrchestrator } from '../e2e/helpers.js';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1]! : fallback;
};
const COUNTS = arg('--streams', '1,10,50,100').split(',').map(Number);
const SECONDS = Number(arg('--seconds', '20'));
const ROUNDS = Number(arg('--rounds', '1'));
const IDLE_SECONDS = 10;
const SEGMENT_SEC = 2;
const STARTUP_MS = 1000;
const NGINX_MODULE = '/usr/lib/nginx/modules/ngx_rtmp_module.so';
const TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
const PAGE = Number(execFileSync('getconf', ['PAGESIZE']).toString().trim()) || 4096;

/** CPU seconds (user + system) and RSS bytes of a live process, from /proc. */
function procStat(pid: number): { cpu: number; rss: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { cpu: (Number(f[11]) + Number(f[12])) / TICKS, rss: Number(f[21]) * PAGE };
  } catch {
    return null;
  }
}

/** Pids whose command line contains every needle. */
function pidsWith(...needles: string[]): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8');
      if (needles.every((n) => cmd.includes(n))) out.push(Number(d));
    } catch {
      /* exited */
    }
  }
  return out;
}

/**
 * Sums CPU over a set of processes sampled while they run: processes present at the first sample
 * count from then, processes that appear later count from their start.
 */
class CpuMeter {
  private readonly first = new Map<number, number>();
  private readonly last = new Map<number, { cpu: number; rss: number }>();
  private started = false;
  sample(pids: number[]): void {
    for (const pid of pids) {
      const s = procStat(pid);
      if (!s) continue;
      if (!this.first.has(pid)) this.first.set(pid, this.started ? 0 : s.cpu);
      this.last.set(pid, s);
    }
    this.started = true;
  }
  cpuSeconds(): number {
    let t = 0;
    for (const [pid, s] of this.last) t += s.cpu - (this.first.get(pid) ?? s.cpu);
    return t;
  }
  maxRssSum(): number {
    let t = 0;
    for (const s of this.last.values()) t += s.rss;
    return t;
  }
}

function publishers(file: string, url: (i: number) => string, n: number): ChildProcess[] {
  return Array.from({ length: n }, (_, i) =>
    spawn(ffmpegPath(), ['-hide_banner', '-loglevel', 'error', '-re', '-i', file, '-c', 'copy', '-f', 'flv', url(i)], { stdio: ['ignore', 'ignore', 'inherit'] }),
  );
}
const exited = (c: ChildProcess) => (c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => c.once('exit', () => r())));

/** cpuPct: per stream, everything counted (for Segmint: orchestrator + Redis); redisPct: Redis's part of it. */
type Result = { n: number; produced: number; expected: number; cpuPct: number; redisPct: number; rssMb: number };

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'segmint-bench-ingest-'));
  const file = join(dir, 'source.flv');
  console.log(`generating a ${SECONDS} s 1280x720p30 2.5 Mb/s H.264 + AAC source…`);
  await run(ffmpegPath(), [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', String(SECONDS),
    '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-g', '60', '-keyint_min', '60', '-sc_threshold', '0',
    '-b:v', '2500k', '-maxrate', '2500k', '-bufsize', '5000k', '-c:a', 'aac', '-b:a', '128k', '-f', 'flv', file,
  ], { timeoutMs: 600_000 });
  const expectedPerStream = Math.ceil(SECONDS / SEGMENT_SEC);

  const db = await openDatabase();
  const maxN = Math.max(...COUNTS);
  const redis = await startRedisServer();
  const redisPid = redis.child.pid!;
  const redisClient = new Redis(redis.url);
  const orch = await startTestOrchestrator(db, {
    REDIS_URL: redis.url,
    SEGMINT_IDLE_TIMEOUT: '600',
    SEGMINT_RTMP_RECONNECT_WINDOW: '1',
    SEGMINT_RTMP_MAX_CONNECTIONS_PER_IP: String(maxN * 2),
    SEGMINT_RTMP_MAX_PUBLISHERS: String(maxN * 2),
    SEGMINT_DISPATCH_WAIT_MS: '1000', // no workers: queued jobs are skipped quickly
  });
  const ours = new Map<number, Result[]>(COUNTS.map((n) => [n, []]));
  const theirs = new Map<number, Result[]>(COUNTS.map((n) => [n, []]));
  const withNginx = !process.argv.includes('--no-nginx') && ensureNginxRtmp();
  if (!withNginx && !process.argv.includes('--no-nginx')) console.log('nginx-rtmp: not installed (Debian: apt-get install libnginx-mod-rtmp); no baseline this run');
  // What the orchestrator burns with no stream at all (sweeps, queues, marketplace): shown apart,
  // so the per-stream figure at small N is not read as the cost of a stream. Measured after a few
  // seconds' settling (startup work is not idling).
  await new Promise((r) => setTimeout(r, 3000));
  const idle = new CpuMeter();
  const idleRedis = new CpuMeter();
  idle.sample([process.pid]);
  idleRedis.sample([redisPid]);
  await new Promise((r) => setTimeout(r, IDLE_SECONDS * 1000));
  idle.sample([process.pid]);
  idleRedis.sample([redisPid]);
  const idlePct = ((idle.cpuSeconds() + idleRedis.cpuSeconds()) / IDLE_SECONDS) * 100;
  console.log(`orchestrator idle: ${idlePct.toFixed(2)}% of a core with no stream (redis ${((idleRedis.cpuSeconds() / IDLE_SECONDS) * 100).toFixed(2)}% of it), over ${IDLE_SECONDS} s`);
  try {
    // Segmint and nginx-rtmp take turns at each N (and each round), so both see the same load from
    // whatever else runs on the machine.
    for (let round = 1; round <= ROUNDS; round++) {
      for (const n of COUNTS) {
        ours.get(n)!.push(await segmintRun(orch, { pid: redisPid, client: redisClient }, file, n, round, expectedPerStream, idlePct));
        if (withNginx) theirs.get(n)!.push(await nginxRun(file, n, dir, expectedPerStream));
      }
    }
  } finally {
    await orch.stop();
    await db.close();
    redisClient.disconnect();
    redis.child.kill();
    await exited(redis.child);
    await rm(redis.dir, { recursive: true, force: true });
  }

  const summary = COUNTS.map((n) => ({ n, ours: median(ours.get(n)!), theirs: theirs.get(n)!.length ? median(theirs.get(n)!) : null }));
  if (ROUNDS > 1) console.log(`medians of ${ROUNDS} rounds:`);
  for (const { n, ours: r, theirs: t } of summary) {
    const dropped = Math.max(...ours.get(n)!.map((x) => x.expected - x.produced));
    console.log(`${String(n).padStart(3)} streams: segmint ${r.cpuPct.toFixed(2)}% (redis ${r.redisPct.toFixed(2)}% of it; ${r.rssMb.toFixed(1)} MB rss)${t ? ` vs nginx-rtmp ${t.cpuPct.toFixed(2)}% (${t.rssMb.toFixed(1)} MB rss) cpu/stream: ratio ${(r.cpuPct / t.cpuPct).toFixed(2)}` : ' cpu/stream'}, ${dropped} dropped segments`);
  }
  await rm(dir, { recursive: true, force: true });
  const dropped = Math.max(...ours.get(maxN)!.map((x) => x.expected - x.produced));
  const last = median(ours.get(maxN)!);
  const vs = theirs.get(maxN)!.length ? `, ${(last.cpuPct / median(theirs.get(maxN)!).cpuPct).toFixed(2)}× nginx-rtmp` : '';
  console.log(`ingest: ${maxN} streams, ${dropped} dropped segments, ${last.cpuPct.toFixed(2)}% cpu/stream (redis ${last.redisPct.toFixed(2)}% of it)${vs}`);
}

/** The run with the median CPU per stream. */
function median(rs: Result[]): Result {
  return [...rs].sort((a, b) => a.cpuPct - b.cpuPct)[Math.floor((rs.length - 1) / 2)]!;
}

/** N publishers into the orchestrator: steady-state CPU of this process and its Redis per stream, segments ingested. */
async function segmintRun(orch: TestOrchestrator, redis: { pid: number; client: Redis }, file: string, n: number, round: number, expectedPerStream: number, idlePct: number): Promise<Result> {
  const streams = await Promise.all(Array.from({ length: n }, (_, i) => orch.pipeline.streams.create({ name: `bench-${round}-${n}-${i}`, profiles: [] })));
  const before = await ingestedRtmp(orch.url);
  const rss0 = process.memoryUsage().rss;
  const pubs = publishers(file, (i) => `rtmp://127.0.0.1:${orch.rtmp!.port}/live/${streams[i]!.streamKey}`, n);
  // Steady state only: measuring starts once every stream is being published (process
  // spawns of the publishers are startup costs; nginx is measured the same way).
  for (let i = 0; i < 60 && !streams.every((s) => orch.rtmp!.publishing(s.id)); i++) await new Promise((r) => setTimeout(r, 250));
  await new Promise((r) => setTimeout(r, STARTUP_MS));
  const meter = new CpuMeter();
  const redisMeter = new CpuMeter();
  const self = process.pid;
  meter.sample([self]);
  redisMeter.sample([redis.pid]);
  const commands0 = await commandCounts(redis.client);
  const t0 = performance.now();
  let rssMax = process.memoryUsage().rss;
  const sampler = setInterval(() => (rssMax = Math.max(rssMax, process.memoryUsage().rss)), 1000);
  await Promise.all(pubs.map(exited));
  const wall = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  meter.sample([self]);
  redisMeter.sample([redis.pid]);
  const commands = await commandCounts(redis.client, commands0);
  const redisCpu = redisMeter.cpuSeconds();
  const cpu = meter.cpuSeconds() + redisCpu;
  const rssPerStream = Math.max(0, rssMax - rss0) / n;
  // the last segment of each stream is flushed when its publisher leaves
  const expected = n * expectedPerStream;
  const until = Date.now() + 30_000;
  let produced = 0;
  while (Date.now() < until && (produced = (await ingestedRtmp(orch.url)) - before) < expected) await new Promise((r) => setTimeout(r, 250));
  const r = { n, produced, expected, cpuPct: (cpu / wall / n) * 100, redisPct: (redisCpu / wall / n) * 100, rssMb: rssPerStream / 2 ** 20 };
  console.log(`segmint    ${String(n).padStart(3)} streams: ${produced}/${expected} segments, ${r.cpuPct.toFixed(2)}% cpu/stream (orchestrator ${(r.cpuPct - r.redisPct).toFixed(2)}% + redis ${r.redisPct.toFixed(2)}%; ${(r.cpuPct - idlePct / n).toFixed(2)}% without the idle cost), ${r.rssMb.toFixed(1)} MB rss/stream`);
  // Commands while publishing, per segment ingested (the segments of the run's last seconds come after)
  const total = [...commands.values()].reduce((a, b) => a + b, 0);
  const top = [...commands].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([c, k]) => `${c} ${(k / produced).toFixed(1)}`).join(', ');
  console.log(`           redis: ${(total / produced).toFixed(1)} commands per segment (${top})`);
  await new Promise((r) => setTimeout(r, 1500)); // reconnect windows close
  return r;
}

/** Calls per Redis command since `since` (INFO commandstats; the INFO calls themselves left out). */
async function commandCounts(client: Redis, since = new Map<string, number>()): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const m of (await client.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (m[1] === 'info') continue;
    const d = Number(m[2]) - (since.get(m[1]!) ?? 0);
    if (d > 0 || since.size === 0) out.set(m[1]!, since.size === 0 ? Number(m[2]) : d);
  }
  return out;
}

async function ingestedRtmp(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = /segmint_segments_ingested_total\{source="rtmp"\} (\d+)/.exec(text);
  return m ? Number(m[1]) : 0;
}

function ensureNginxRtmp(): boolean {
  if (existsSync(NGINX_MODULE) && existsSync('/usr/sbin/nginx')) return true;
  if (process.getuid?.() !== 0) return false;
  console.log('installing libnginx-mod-rtmp for the baseline…');
  try {
    execFileSync('apt-get', ['install', '-y', '-q', 'libnginx-mod-rtmp'], { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  } catch {
    return false;
  }
  return existsSync(NGINX_MODULE);
}

async function nginxRun(file: string, n: number, dir: string, expectedPerStream: number): Promise<Result> {
  const root = await mkdtemp(join(dir, `nginx-${n}-`));
  // nginx's workers run as an unprivileged user: they must be able to write the HLS output
  await chmod(dir, 0o755);
  await chmod(root, 0o777);
  const port = 19350 + n;
  const conf = join(root, 'nginx.conf');
  await writeFile(conf, `
load_module ${NGINX_MODULE};
daemon off;
master_process on;
worker_processes 1;
pid ${root}/nginx.pid;
error_log ${root}/error.log warn;
events { worker_connections 4096; }
rtmp {
  server {
    listen 127.0.0.1:${port};
    application live { live on; hls on; hls_path ${root}/hls; hls_fragment ${SEGMENT_SEC}s; hls_nested on; hls_cleanup off; }
  }
}
`);
  const nginx = spawn('/usr/sbin/nginx', ['-c', conf, '-p', root], { stdio: ['ignore', 'ignore', 'inherit'] });
  await new Promise((r) => setTimeout(r, 1000));
  const meter = new CpuMeter();
  const nginxPids = () => pidsWith('nginx', conf).concat(childrenOf(nginx.pid!));
  const pubs = publishers(file, (i) => `rtmp://127.0.0.1:${port}/live/s${i}`, n);
  await new Promise((r) => setTimeout(r, 2000 + STARTUP_MS)); // publishers connected: steady state
  meter.sample(nginxPids());
  const t0 = performance.now();
  const sampler = setInterval(() => meter.sample(nginxPids()), 500);
  await Promise.all(pubs.map(exited));
  const wall = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  meter.sample(nginxPids());
  const rss = meter.maxRssSum();
  nginx.kill('SIGQUIT');
  await exited(nginx);
  let produced = 0;
  for (let i = 0; i < n; i++) {
    try {
      produced += readdirSync(join(root, 'hls', `s${i}`)).filter((f) => f.endsWith('.ts')).length;
    } catch {
      /* no segments */
    }
  }
  const r = { n, produced, expected: n * expectedPerStream, cpuPct: (meter.cpuSeconds() / wall / n) * 100, redisPct: 0, rssMb: rss / n / 2 ** 20 };
  console.log(`nginx-rtmp ${String(n).padStart(3)} streams: ${produced}/${r.expected} segments, ${r.cpuPct.toFixed(2)}% cpu/stream, ${r.rssMb.toFixed(1)} MB rss/stream`);
  return r;
}

function childrenOf(pid: number, tid = pid): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
