/**
 * Edge delivery, measured: V Node viewers (EdgeViewer, the player's own logic: session key,
 * every segment verified against the origin's signed sidecar, a receipt per edge segment) watch
 * one live stream (ffmpeg over RTMP, a real worker transcoding) for S seconds, three times in the
 * same run: origin only (no edge registered: the baseline), through 1 edge, through 3 edges
 * (`segmint edge start` processes). The viewers are Node clients, not browsers: each runs a
 * player clock over what it fetched (startup: session start to first segment in; rebuffer: time
 * the playhead spent at the end of the fetched media, waiting for the next segment), and segment
 * fetch latency against the segment duration is printed too.
 *
 * Origin egress: every byte the orchestrator's HTTP port sends to viewers and edges (sessions,
 * playlists, sidecars, segments), counted by a TCP relay in front of it; saved = 1 − (egress per
 * segment byte delivered) ÷ (the same, origin only), since on a busy machine the scenarios do not
 * deliver exactly the same number of segments. Edge CPU: user + system
 * time of the edge processes (/proc/PID/stat) over the run, per viewer. Payment, measured, not
 * assumed: the bytes the viewers verified from edges (a receipt signed for each segment) minus the
 * bytes the orchestrator counted as paid to those edges, once every viewer's receipts were
 * acknowledged by its edge and the edges had up to 60 s to submit them (no chain here: the
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

type ViewerRun = { startupMs: number | null; stallMs: number; latencies: number[]; bytes: number; viewer: EdgeViewer };

/**
 * One viewer at the live edge: the last 3 segments, then each new one; every fetch timed. A player
 * clock runs on it: playback starts when the first segment is in, the playhead then moves with
 * wall time through the segments fetched (their EXTINF) and stalls (rebuffer) whenever it reaches
 * the end of what was fetched, until the next segment is in.
 */
async function watch(origin: string, playbackId: string, until: number): Promise<ViewerRun> {
  const t0 = performance.now();
  const viewer = await EdgeViewer.start({ orchestratorUrl: origin, playbackId });
  const run: ViewerRun = { startupMs: null, stallMs: 0, latencies: [], bytes: 0, viewer };
  const seen = new Set<string>();
  let bufferedSec = 0; // media time fetched
  let playStart = 0; // wall time (ms) at which media time 0 would have played, pushed back by stalls
  while (Date.now() < until) {
    const text = await viewer.mediaPlaylist('low').catch(() => '');
    const lines = text.split('\n');
    const entries = lines.flatMap((l, i) => (l && !l.startsWith('#') ? [{ uri: l, sec: Number(/#EXTINF:([\d.]+)/.exec(lines[i - 1] ?? '')?.[1] ?? SEGMENT_SEC) }] : []));
    for (const { uri, sec } of seen.size === 0 ? entries.slice(-3) : entries) {
      if (seen.has(uri)) continue;
      seen.add(uri);
      const t = performance.now();
      const got = await viewer.segment('low', uri).catch(() => null);
      const now = performance.now();
      run.latencies.push(now - t);
      if (!got) continue;
      run.bytes += got.byteLength;
      if (run.startupMs === null) {
        run.startupMs = Math.round(now - t0);
        playStart = now;
      } else {
        const playhead = (now - playStart) / 1000;
        if (playhead > bufferedSec) { // ran dry before this segment came in
          run.stallMs += (playhead - bufferedSec) * 1000;
          playStart += (playhead - bufferedSec) * 1000;
        }
      }
      bufferedSec += sec;
    }
    await sleep(1000);
  }
  return run;
}

type Result = { label: string; egress: number; startup: number[]; stallMs: number[]; watchedSec: number; unsent: number; latencies: number[]; edgeBytes: number; originSegBytes: number; repeatBytes: number; receipts: number; rejected: number; cpuSec: number; paidBytes: number };

async function scenario(label: string, origin: string, meter: { bytes(): number }, orch: TestOrchestrator, playbackId: string, edges: EdgeProcess[]): Promise<Result> {
  const paid0 = await paidBytes(orch, edges);
  const cpu0 = edges.reduce((n, e) => n + cpuSec(e.child.pid!), 0);
  const e0 = meter.bytes();
  const until = Date.now() + SECONDS * 1000;
  const runs = await Promise.all(Array.from({ length: VIEWERS }, (_, i) => sleep(i * 200).then(() => watch(origin, playbackId, until))));
  const egress = meter.bytes() - e0;
  const cpu = edges.reduce((n, e) => n + cpuSec(e.child.pid!), 0) - cpu0;
  const edgeBytes = runs.reduce((n, r) => n + r.viewer.stats.edgeBytes, 0);
  // every receipt the viewers signed handed to its edge (acknowledged: journaled there), then paid:
  // unpaid = what the viewers verified from edges − what the orchestrator counted as paid, measured
  const unsent = (await Promise.all(runs.map((r) => r.viewer.flushReceipts(60_000)))).reduce((n, x) => n + x, 0);
  const paid = await waitFor('receipts paid', async () => {
    const p = (await paidBytes(orch, edges)) - paid0;
    return p >= edgeBytes ? p : null;
  }, 60_000, 250).catch(async () => (await paidBytes(orch, edges)) - paid0);
  for (const r of runs) r.viewer.close();
  return {
    label, egress, edgeBytes, paidBytes: paid, cpuSec: cpu, unsent,
    stallMs: runs.map((r) => r.stallMs),
    watchedSec: runs.reduce((n, r) => n + (r.startupMs === null ? 0 : SECONDS - r.startupMs / 1000), 0),
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
    `startup p50 ${pctl(r.startup, 0.5).toFixed(0)} ms max ${Math.max(...r.startup).toFixed(0)} ms · ` +
    `rebuffer ${(r.stallMs.reduce((n, x) => n + x, 0) / 1000).toFixed(1)} s over ${r.watchedSec.toFixed(0)} s watched (${((100 * r.stallMs.reduce((n, x) => n + x, 0)) / 1000 / Math.max(1, r.watchedSec)).toFixed(1)}%), ${r.stallMs.filter((x) => x > 0).length}/${r.stallMs.length} viewers stalled · segment fetch p50 ${pctl(r.latencies, 0.5).toFixed(0)} ms p95 ${pctl(r.latencies, 0.95).toFixed(0)} ms, ` +
    `${late}/${r.latencies.length} slower than the ${SEGMENT_SEC} s segment · ` +
    `edge CPU ${r.label === 'origin only' ? '–' : `${((1000 * r.cpuSec) / VIEWERS / SECONDS).toFixed(1)} ms/s per viewer (${((100 * r.cpuSec) / SECONDS).toFixed(1)}% of a core for ${VIEWERS})`} · ` +
    `receipts ${r.receipts} (${r.unsent} never acknowledged) · rejected segments ${r.rejected} · verified from edges ${r.edgeBytes} B, paid ${r.paidBytes} B, unpaid ${r.edgeBytes - r.paidBytes} B`,
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
      const refused = Object.entries(st).filter(([k]) => k.startsWith('rejected.'));
      console.log(`edge ${e.address}: paid ${st.paidBytes ?? 0} B for ${st.receipts ?? 0} receipts; refused: ${refused.map(([k, v]) => `${k.slice(9)} ${v}`).join(', ') || 'none'}`);
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
