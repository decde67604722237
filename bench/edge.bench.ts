/**
 * Edge delivery, measured: V Node viewers (EdgeViewer, the player's own logic: session key,
 * every segment verified against the origin's signed sidecar, a receipt per edge segment) watch
 * one live stream (ffmpeg over RTMP, a real worker transcoding) for S seconds, three times in the
 * same run: origin only (no edge registered: the baseline), through 1 edge, through 3 edges
 * (`segmint edge start` processes). The viewers are Node clients, not browsers: they have no
 * player clock, so instead of rebuffering this reports segment fetch latency against the
 * segment duration (a fetch slower than the segment lasts would stall a player that is at the
 * live edge).
 *
 * Origin egress: every byte the orchestrator's HTTP port sends to viewers and edges (sessions,
 * playlists, sidecars, segments), counted by a TCP relay in front of it; saved = 1 − (egress per
 * segment byte delivered) ÷ (the same, origin only), since on a busy machine the scenarios do not
 * deliver exactly the same number of segments. Edge CPU: user + system
 * time of the edge processes (/proc/PID/stat) over the run, per viewer. Payment: verified edge
 * bytes the viewers vouched for vs bytes the orchestrator accepted to pay (no chain here: the
 * tickets themselves are e2e/edgeDelivery.test.ts's; the receipt checks run in full).
 * Last line: `edge: X% origin egress saved, N receipts, U unpaid verified bytes` (saved: with 3 edges;
 * receipts and unpaid bytes: both edge scenarios).
 * Usage: npm run bench:edge [-- --viewers 10 --seconds 30]
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, connect, type Server } from 'node:net';
import { loadavg } from 'node:os';
import { openDatabase } from '../orchestrator/src/db/database.js';
import { EdgeViewer } from '../orchestrator/src/player/edgeViewer.js';
import { api, spawnWorker, startTestOrchestrator, stopProcess, waitFor, type TestOrchestrator } from '../e2e/helpers.js';
import { spawnEdge, type EdgeProcess } from '../e2e/edgeFixtures.js';
import { ffmpegPublish } from '../e2e/rtmpPublish.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name}: expected a positive integer, got ${process.argv[i + 1]}`);
  return v;
}
const VIEWERS = arg('--viewers', 10);
const SECONDS = arg('--seconds', 30);
const SEGMENT_SEC = 2; // the live pipeline's segment duration
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A TCP relay in front of the origin counting the bytes it sends back (origin egress). */
function egressMeter(port: number): Promise<{ url: string; bytes(): number; server: Server }> {
  let bytes = 0;
  const server = createServer((down) => {
    const up = connect(port, '127.0.0.1');
    up.on('data', (d) => (bytes += d.length));
    down.pipe(up).pipe(down);
    const end = () => (down.destroy(), up.destroy());
    up.on('error', end).on('close', end);
    down.on('error', end).on('close', end);
  });
  return new Promise((done) => server.listen(0, '127.0.0.1', () => {
    const a = server.address();
    done({ url: `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`, bytes: () => bytes, server });
  }));
}

/** CPU seconds (user + system) a process has used so far. */
function cpuSec(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100/s)
}

type ViewerRun = { startupMs: number | null; latencies: number[]; bytes: number; viewer: EdgeViewer };

/** One viewer at the live edge: the last 3 segments, then each new one; every fetch timed. */
async function watch(origin: string, playbackId: string, until: number): Promise<ViewerRun> {
  const t0 = performance.now();
  const viewer = await EdgeViewer.start({ orchestratorUrl: origin, playbackId });
  const run: ViewerRun = { startupMs: null, latencies: [], bytes: 0, viewer };
  const seen = new Set<string>();
  while (Date.now() < until) {
    const text = await viewer.mediaPlaylist('low').catch(() => '');
    const uris = text.split('\n').filter((l) => l && !l.startsWith('#'));
    for (const uri of seen.size === 0 ? uris.slice(-3) : uris) {
      if (seen.has(uri)) continue;
      seen.add(uri);
      const t = performance.now();
      const got = await viewer.segment('low', uri).catch(() => null);
      run.latencies.push(performance.now() - t);
      run.bytes += got?.byteLength ?? 0;
      run.startupMs ??= Math.round(performance.now() - t0);
    }
    await sleep(1000);
  }
  return run;
}

type Result = { label: string; egress: number; startup: number[]; latencies: number[]; edgeBytes: number; originSegBytes: number; repeatBytes: number; receipts: number; rejected: number; cpuSec: number; paidBytes: number };

async function scenario(label: string, origin: string, meter: { bytes(): number }, orch: TestOrchestrator, playbackId: string, edges: EdgeProcess[]): Promise<Result> {
  const paid0 = await paidBytes(orch, edges);
  const cpu0 = edges.reduce((n, e) => n + cpuSec(e.child.pid!), 0);
  const e0 = meter.bytes();
  const until = Date.now() + SECONDS * 1000;
  const runs = await Promise.all(Array.from({ length: VIEWERS }, (_, i) => sleep(i * 200).then(() => watch(origin, playbackId, until))));
  const egress = meter.bytes() - e0;
  const cpu = edges.reduce((n, e) => n + cpuSec(e.child.pid!), 0) - cpu0;
  const edgeBytes = runs.reduce((n, r) => n + r.viewer.stats.edgeBytes, 0);
  // receipts reach the orchestrator through the edges (every 300 ms): wait until they are all in
  const paid = await waitFor('receipts paid', async () => {
    const p = (await paidBytes(orch, edges)) - paid0;
    return p >= edgeBytes ? p : null;
  }, 15_000, 250).catch(async () => (await paidBytes(orch, edges)) - paid0);
  return {
    label, egress, edgeBytes, paidBytes: paid, cpuSec: cpu,
    startup: runs.map((r) => r.startupMs).filter((x): x is number => x !== null),
    latencies: runs.flatMap((r) => r.latencies),
    originSegBytes: runs.reduce((n, r) => n + r.viewer.stats.originBytes, 0),
    // delivered but neither counted as edge nor origin bytes: none expected (each segment is fetched once)
    repeatBytes: runs.reduce((n, r) => n + r.bytes - r.viewer.stats.edgeBytes - r.viewer.stats.originBytes, 0),
    receipts: runs.reduce((n, r) => n + r.viewer.stats.receipts, 0),
    rejected: runs.reduce((n, r) => n + r.viewer.stats.rejectedSegments, 0),
  };
}

async function paidBytes(orch: TestOrchestrator, edges: EdgeProcess[]): Promise<number> {
  let n = 0;
  for (const e of edges) n += Number(((await (await fetch(`${orch.url}/edges/${e.address}`)).json()) as { stats: Record<string, string> }).stats.paidBytes ?? 0);
  return n;
}

const pctl = (xs: number[], p: number) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]! : NaN);
const kb = (b: number) => `${(b / 1024).toFixed(0)} KiB`;

/** Origin egress per segment byte the viewers received (scenarios deliver different amounts on a busy machine). */
const egressPerByte = (r: Result) => r.egress / (r.edgeBytes + r.originSegBytes + r.repeatBytes);
const savedShare = (r: Result, base: Result) => 1 - egressPerByte(r) / egressPerByte(base);

function print(r: Result, base: Result): void {
  const saved = savedShare(r, base);
  const late = r.latencies.filter((l) => l > SEGMENT_SEC * 1000).length;
  console.log(
    `${r.label.padEnd(12)} ${r.latencies.length} segments, ${kb(r.edgeBytes + r.originSegBytes + r.repeatBytes)} to viewers (${kb(r.edgeBytes)} from edges) · origin egress ${kb(r.egress)}, ` +
    `${egressPerByte(r).toFixed(3)} B per B delivered (saved ${(100 * saved).toFixed(1)}%) · ` +
    `startup p50 ${pctl(r.startup, 0.5).toFixed(0)} ms max ${Math.max(...r.startup).toFixed(0)} ms · segment fetch p50 ${pctl(r.latencies, 0.5).toFixed(0)} ms p95 ${pctl(r.latencies, 0.95).toFixed(0)} ms, ` +
    `${late}/${r.latencies.length} slower than the ${SEGMENT_SEC} s segment · ` +
    `edge CPU ${r.label === 'origin only' ? '–' : `${((1000 * r.cpuSec) / VIEWERS / SECONDS).toFixed(1)} ms/s per viewer (${((100 * r.cpuSec) / SECONDS).toFixed(1)}% of a core for ${VIEWERS})`} · ` +
    `receipts ${r.receipts} · rejected ${r.rejected} · unpaid verified ${r.edgeBytes - r.paidBytes} B`,
  );
}

async function main(): Promise<void> {
  const db = await openDatabase();
  const orch = await startTestOrchestrator(db, { SEGMINT_IDLE_TIMEOUT: '600', SEGMINT_EDGE_SESSION_RATE_LIMIT: '0' });
  const worker: ChildProcess = spawnWorker(orch, ['--concurrency', '2']);
  const meter = await egressMeter(Number(new URL(orch.url).port));
  const edges: EdgeProcess[] = [];
  let publisher: ChildProcess | undefined;
  try {
    const stream = (await api(orch, 'POST', '/api/stream', { name: 'bench edge', profiles: [{ name: 'low', width: 256, height: 144, bitrate: 150_000 }] })).json as { playbackId: string; streamKey: string };
    publisher = ffmpegPublish({ port: orch.rtmp!.port, key: stream.streamKey, seconds: 3 * SECONDS + 180, width: 320, height: 180, fps: 15 });
    await waitFor('signed segments', async () => {
      const res = await fetch(`${orch.url}/hls/${stream.playbackId}/low/hashes.json`);
      return res.ok && ((await res.json()) as { segments: unknown[] }).segments.length >= 3;
    }, 120_000, 250);
    console.log(`${VIEWERS} Node viewers × ${SECONDS} s per scenario · load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    const base = await scenario('origin only', meter.url, meter, orch, stream.playbackId, []);
    print(base, base);
    const edgeArgs = ['--origin', meter.url];
    edges.push(await spawnEdge(orch, edgeArgs));
    await sleep(5000); // the edge process settles (tsx start-up is not edge CPU per viewer)
    const one = await scenario('1 edge', meter.url, meter, orch, stream.playbackId, edges);
    print(one, base);
    edges.push(await spawnEdge(orch, edgeArgs), await spawnEdge(orch, edgeArgs));
    await sleep(5000);
    const three = await scenario('3 edges', meter.url, meter, orch, stream.playbackId, edges);
    print(three, base);
    for (const e of edges) {
      const st = ((await (await fetch(`${orch.url}/edges/${e.address}`)).json()) as { stats: Record<string, string> }).stats;
      const refused = Object.entries(st).filter(([k]) => k.startsWith('RECEIPT_'));
      console.log(`edge ${e.address}: paid ${st.paidBytes ?? 0} B for ${st.receipts ?? 0} receipts; refused: ${refused.map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`);
    }
    console.log(`load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    const saved = savedShare(three, base);
    // receipts and unpaid bytes over both edge scenarios; egress saved with 3 edges
    console.log(`edge: ${(100 * saved).toFixed(1)}% origin egress saved, ${one.receipts + three.receipts} receipts, ${one.edgeBytes - one.paidBytes + three.edgeBytes - three.paidBytes} unpaid verified bytes`);
  } finally {
    for (const e of edges) await stopProcess(e.child);
    if (publisher) await stopProcess(publisher);
    await stopProcess(worker);
    meter.server.close();
    await orch.stop();
    await db.close();
  }
}

await main();
