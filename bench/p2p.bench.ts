/**
 * Peer-to-peer delivery, measured in real browsers: N viewer pages (headless Debian chromium, one
 * context each, WebRTC over loopback) watch a live stream (ffmpeg publishing over RTMP, a real
 * worker transcoding) for S seconds, first with P2P off (every byte from the origin: the baseline),
 * then the same N viewers on a stream with P2P on, plus one attacker page that alters every segment
 * it sends to peers (not counted as a viewer). Pages join one second apart.
 *
 * Per run: the share of segment bytes from peers (offload, over the viewers' whole sessions, as
 * their players counted them), startup (page start → first frame playing; median and max),
 * rebuffer ratio (time stalled after the first frame / time watched, over the S seconds), peer
 * segments rejected, and corrupted segments played: segments hls.js received whose bytes differ
 * from the orchestrator-signed hash (checked in the page, apart from the P2P loader's own check);
 * and the stream's viewerBytes in the orchestrator's API record, from the players' reports.
 * Last line: `p2p: N viewers, X% offload, Y corrupted segments played`.
 * `--attacker 0` leaves the attacker page out (to see the offload without it).
 * Usage: npm run bench:p2p [-- --viewers 10 --seconds 60 --attacker 1]
 */
import type { ChildProcess } from 'node:child_process';
import type { Browser, Page } from 'playwright-core';
import { openDatabase } from '../orchestrator/src/db/database.js';
import { api, spawnWorker, startTestOrchestrator, stopProcess, waitFor, type TestOrchestrator } from '../e2e/helpers.js';
import { launchViewerBrowser, openViewer, viewerState, type ViewerState } from '../e2e/p2pViewers.js';
import { ffmpegPublish } from '../e2e/rtmpPublish.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name}: expected a positive integer, got ${process.argv[i + 1]}`);
  return v;
}
const VIEWERS = arg('--viewers', 10);
const SECONDS = arg('--seconds', 60);
const ATTACKER = !process.argv.includes('--attacker') || process.argv[process.argv.indexOf('--attacker') + 1] !== '0';
const ladder = [{ name: 'low', width: 256, height: 144, bitrate: 150_000 }];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type RunResult = {
  originBytes: number; peerBytes: number; startup: number[]; notStarted: number; stalledMs: number; watchedMs: number; rejected: number; corrupted: number; verified: number;
  /** The stream's viewerBytes in the orchestrator's API record (players report every 5 s). */
  recorded: { origin: number; peer: number; rejectedSegments: number };
};

async function run(orch: TestOrchestrator, browser: Browser, p2p: boolean): Promise<RunResult> {
  const stream = (await api(orch, 'POST', '/api/stream', { name: p2p ? 'bench p2p' : 'bench origin', profiles: ladder, p2p })).json;
  const publisher = ffmpegPublish({ port: orch.rtmp!.port, key: stream.streamKey, seconds: SECONDS + VIEWERS + 90, width: 320, height: 180, fps: 15 });
  const pages: Page[] = [];
  let attacker: Page | undefined;
  try {
    await waitFor('live playlist', async () => (await fetch(`${orch.url}/hls/${stream.playbackId}/index.m3u8`)).status === 200, 90_000, 250);
    const url = `${orch.url}/watch/${stream.playbackId}`;
    if (p2p && ATTACKER) attacker = await openViewer(browser, url, { poison: true });
    for (let i = 0; i < VIEWERS; i++) {
      pages.push(await openViewer(browser, url));
      await sleep(1000);
    }
    await Promise.all(pages.map((page) => page.waitForFunction(() => (window as any).segmintWatch.startupMs !== null, undefined, { timeout: 60_000 }).catch(() => {})));
    const t0 = await Promise.all(pages.map(viewerState));
    await sleep(SECONDS * 1000);
    const t1 = await Promise.all(pages.map(viewerState));
    await sleep(6000); // one more report from every player
    const recorded = (await api(orch, 'GET', `/api/stream/${stream.id}`)).json.viewerBytes;
    return { ...summarise(t0, t1), recorded };
  } finally {
    await Promise.all([...pages, ...(attacker ? [attacker] : [])].map((page) => page.context().close()));
    await stopProcess(publisher);
  }
}

function summarise(t0: ViewerState[], t1: ViewerState[]): Omit<RunResult, 'recorded'> {
  const d = (s: ViewerState) => s.delivery!;
  const sum = (xs: number[]) => xs.reduce((a, x) => a + x, 0);
  return {
    originBytes: sum(t1.map((s) => d(s).originBytes)),
    peerBytes: sum(t1.map((s) => d(s).peerBytes)),
    startup: t1.map((s) => s.startupMs).filter((x): x is number => x !== null),
    notStarted: t1.filter((s) => s.startupMs === null).length,
    stalledMs: sum(t1.map((s, i) => s.stalledMs - t0[i]!.stalledMs)),
    watchedMs: t1.length * SECONDS * 1000,
    rejected: sum(t1.map((s) => d(s).rejectedSegments)),
    corrupted: sum(t1.map((s) => d(s).playedMismatch)),
    verified: sum(t1.map((s) => d(s).playedVerified)),
  };
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const median = (xs: number[]) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]! : NaN);
function report(name: string, r: RunResult): void {
  const total = r.originBytes + r.peerBytes;
  console.log(
    `${name.padEnd(8)} origin ${(r.originBytes / 1e6).toFixed(1)} MB, peers ${(r.peerBytes / 1e6).toFixed(1)} MB (${pct(total ? r.peerBytes / total : 0)}), ` +
      `startup median ${median(r.startup)} ms max ${Math.max(...r.startup)} ms${r.notStarted ? ` (${r.notStarted} never started)` : ''}, ` +
      `rebuffer ${pct(r.stalledMs / r.watchedMs)}, peer segments rejected ${r.rejected}, played: ${r.verified} verified, ${r.corrupted} corrupted`,
  );
  const rec = r.recorded;
  console.log(`${''.padEnd(8)} orchestrator's record (players' reports): origin ${(rec.origin / 1e6).toFixed(1)} MB, peers ${(rec.peer / 1e6).toFixed(1)} MB, rejected ${rec.rejectedSegments}`);
}

const db = await openDatabase();
const orch = await startTestOrchestrator(db, { SEGMINT_IDLE_TIMEOUT: '600' });
const worker: ChildProcess = spawnWorker(orch, ['--concurrency', '2']);
const browser = await launchViewerBrowser();
try {
  console.log(`${VIEWERS} viewers, ${SECONDS} s each run; live 320x180 15 fps over RTMP, ladder low 256x144 + source; attacker page ${ATTACKER ? 'on' : 'off'}`);
  const origin = await run(orch, browser, false);
  report('origin', origin);
  const p2p = await run(orch, browser, true);
  report('p2p', p2p);
  const total = p2p.originBytes + p2p.peerBytes;
  console.log(`rebuffer ratio p2p/origin: ${pct(p2p.stalledMs / p2p.watchedMs)} vs ${pct(origin.stalledMs / origin.watchedMs)}; startup median ${median(p2p.startup)} vs ${median(origin.startup)} ms`);
  console.log(`p2p: ${VIEWERS} viewers, ${(100 * (total ? p2p.peerBytes / total : 0)).toFixed(1)}% offload, ${p2p.corrupted} corrupted segments played`);
} finally {
  await browser.close();
  await stopProcess(worker);
  await orch.stop();
  await db.close();
}
