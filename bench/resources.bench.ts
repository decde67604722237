/**
 * `npm run bench:resources [-- --seconds 60 --height 720 --concurrency 2]`
 *
 * What one orchestrator and one worker use while a live stream runs through them: the figures
 * behind the resource requests in deploy/k8s/ and deploy/compose.yaml. Starts a password-protected
 * redis-server, an orchestrator (`bin/segmint orchestrator start`, embedded PGlite) and a worker
 * (`bin/segmint worker start`) as processes, creates a stream and publishes ffmpeg's test source
 * live over RTMP (-re, 30 fps, H.264 3 Mb/s + AAC, from a 10 s file made first and looped with -c copy). Every second it reads /proc for each process tree
 * (the worker's includes its ffmpeg children): CPU (utime + stime, in cores) and RSS. Samples of
 * the first 10 s (start-up, first segments) are left out. The publisher's own CPU is not counted.
 * Last line: `resources: orchestrator cpu mean X p95 Y cores, rss max Z MiB; worker …`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ffmpegPath } from '@segmint/media';
import { freePort, startRedisServer } from '../orchestrator/src/demo/localRedis.js';

const ROOT = resolve(import.meta.dirname, '..');
const { values } = parseArgs({ options: { seconds: { type: 'string', default: '60' }, height: { type: 'string', default: '720' }, concurrency: { type: 'string', default: '2' } } });
const seconds = Number(values.seconds);
const height = Number(values.height);
const width = Math.round((height * 16) / 9 / 2) * 2;
const TICKS = 100; // USER_HZ on Linux
const PAGE = 4096;

type Sample = { cpuTicks: number; rssBytes: number };

/** CPU ticks and RSS of `pid` and every descendant (from /proc). */
function treeSample(root: number): Sample {
  const children = new Map<number, number[]>();
  const stats = new Map<number, { ticks: number; rss: number }>();
  for (const name of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const pid = Number(name);
      const ppid = Number(f[1]);
      stats.set(pid, { ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]), rss: Number(f[21]) * PAGE });
      children.set(ppid, [...(children.get(ppid) ?? []), pid]);
    } catch {
      /* exited meanwhile */
    }
  }
  let cpuTicks = 0;
  let rssBytes = 0;
  const todo = [root];
  while (todo.length) {
    const pid = todo.pop()!;
    const s = stats.get(pid);
    if (s) {
      cpuTicks += s.ticks;
      rssBytes += s.rss;
    }
    todo.push(...(children.get(pid) ?? []));
  }
  return { cpuTicks, rssBytes };
}

const seg = (args: string[], env: Record<string, string>) =>
  spawn(join(ROOT, 'bin/segmint'), args, { cwd: ROOT, env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn', ...env }, stdio: ['ignore', 'inherit', 'inherit'], detached: true });

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((done, fail) => spawn(cmd, args, { stdio: 'inherit' }).on('exit', (code) => (code === 0 ? done() : fail(new Error(`${cmd} exited ${code}`)))));
}

async function waitHttp(url: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await fetch(url).then((r) => r.ok, () => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer`);
}

function summary(cores: number[], rss: number[]) {
  const sorted = [...cores].sort((a, b) => a - b);
  const mean = cores.reduce((a, b) => a + b, 0) / cores.length;
  return { mean, p95: sorted[Math.floor(0.95 * (sorted.length - 1))]!, rssMiB: Math.max(...rss) / 2 ** 20 };
}

async function main(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'segmint-resources-'));
  const redis = await startRedisServer();
  const [httpPort, rtmpPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
  const orchEnv = { REDIS_URL: redis.url, DATA_DIR: dataDir, SEGMINT_HTTP_PORT: String(httpPort), SEGMINT_RTMP_PORT: String(rtmpPort), SEGMINT_IDLE_TIMEOUT: '600' };
  const children: ChildProcess[] = [];
  const source = join(dataDir, 'source.flv');
  try {
    await run(ffmpegPath(), [
      '-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', `testsrc2=size=${width}x${height}:rate=30`, '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
      '-t', '10', '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-g', '60', '-keyint_min', '60', '-sc_threshold', '0', '-b:v', '3M', '-maxrate', '3M', '-bufsize', '6M',
      '-c:a', 'aac', '-b:a', '128k', '-ar', '48000', '-f', 'flv', source,
    ]);
    // The key is made before the orchestrator opens the embedded database (one process at a time).
    const key = await new Promise<string>((done, fail) => {
      const c = spawn(join(ROOT, 'bin/segmint'), ['orchestrator', 'api-key', 'bench'], { cwd: ROOT, env: { ...process.env, ...orchEnv } });
      let out = '';
      c.stdout.on('data', (d) => (out += d));
      c.on('exit', (code) => (code === 0 ? done(out.trim().split('\n').pop()!) : fail(new Error(`api-key exited ${code}`))));
    });
    const orch = seg(['orchestrator', 'start'], orchEnv);
    children.push(orch);
    const base = `http://127.0.0.1:${httpPort}`;
    await waitHttp(`${base}/healthz`);
    const stream = (await (await fetch(`${base}/api/stream`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'resources' }) })).json()) as { streamKey: string; playbackId: string };
    const worker = seg(['worker', 'start', '--orchestrator', base, '--concurrency', values.concurrency!, '--key', `0x${'11'.repeat(32)}`, '--work-dir', dataDir, '--metrics-port', String(metricsPort)], { REDIS_URL: '' });
    children.push(worker);
    for (let i = 0; i < 600; i++) {
      const ws = (await (await fetch(`${base}/marketplace/workers`)).json()) as { online: boolean }[];
      if (ws.some((w) => w.online)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    // Published with -c copy from a file made beforehand: the publisher's encoder must not take the
    // CPU the measured processes need (2 shared cores here).
    const publisher = spawn(ffmpegPath(), [
      '-hide_banner', '-loglevel', 'error', '-re', '-stream_loop', '-1', '-i', source, '-t', String(seconds + 12), '-c', 'copy',
      '-f', 'flv', `rtmp://127.0.0.1:${rtmpPort}/live/${stream.streamKey}`,
    ], { stdio: 'ignore', detached: true });
    children.push(publisher);

    const o: { cores: number[]; rss: number[] } = { cores: [], rss: [] };
    const w: { cores: number[]; rss: number[] } = { cores: [], rss: [] };
    const finished = async () => Number(/segmint_worker_segments_total\{outcome="done"\} ([0-9]+)/.exec(await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text())?.[1] ?? 0);
    let doneBefore = 0;
    let prevO = treeSample(orch.pid!);
    let prevW = treeSample(worker.pid!);
    for (let t = 1; t <= seconds + 10; t++) {
      await new Promise((r) => setTimeout(r, 1000));
      const so = treeSample(orch.pid!);
      const sw = treeSample(worker.pid!);
      if (t > 10) {
        o.cores.push((so.cpuTicks - prevO.cpuTicks) / TICKS);
        o.rss.push(so.rssBytes);
        w.cores.push((sw.cpuTicks - prevW.cpuTicks) / TICKS);
        w.rss.push(sw.rssBytes);
      }
      [prevO, prevW] = [so, sw];
      if (t === 10) doneBefore = await finished();
    }
    const done = (await finished()) - doneBefore;
    const workerCpuSec = w.cores.reduce((x, y) => x + y, 0);
    const published = Number(/segmint_segments_published_total ([0-9]+)/.exec(await (await fetch(`${base}/metrics`)).text())?.[1] ?? 0);
    const a = summary(o.cores, o.rss);
    const b = summary(w.cores, w.rss);
    console.log(`${width}x${height}30 live for ${seconds} s measured (+10 s warm-up), worker --concurrency ${values.concurrency}, ${published} segments published`);
    // Under contention the worker gets less CPU than a real-time stream needs: the cost per
    // finished segment tells what it needs (a 2 s segment every 2 s).
    console.log(`worker: ${done} segments finished in the measured window, ${(workerCpuSec / Math.max(1, done)).toFixed(2)} cpu-s per segment in the measured window (≈ cores needed per live stream at 2 s segments: ${(workerCpuSec / Math.max(1, done) / 2).toFixed(2)})`);
    console.log(`resources: orchestrator cpu mean ${a.mean.toFixed(3)} p95 ${a.p95.toFixed(3)} cores, rss max ${a.rssMiB.toFixed(0)} MiB; worker cpu mean ${b.mean.toFixed(3)} p95 ${b.p95.toFixed(3)} cores, rss max ${b.rssMiB.toFixed(0)} MiB`);
  } finally {
    // Each process group (the worker's ffmpeg children too).
    const kill = (c: ChildProcess, sig: NodeJS.Signals) => { try { process.kill(-c.pid!, sig); } catch { c.kill(sig); } };
    for (const c of children.reverse()) kill(c, 'SIGTERM');
    await new Promise((r) => setTimeout(r, 3000));
    for (const c of children) kill(c, 'SIGKILL');
    redis.child.kill();
    await rm(dataDir, { recursive: true, force: true });
    await rm(redis.dir, { recursive: true, force: true });
  }
}

await main();
