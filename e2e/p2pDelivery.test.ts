import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import WebSocket from 'ws';
import { openDatabase, type Database } from '../orchestrator/src/db/database.js';
import { swarmInfoHash } from '../orchestrator/src/p2p/tracker.js';
import { api, spawnWorker, startTestOrchestrator, stopProcess, waitFor, type TestOrchestrator } from './helpers.js';
import { CHROMIUM, launchViewerBrowser, openViewer, viewerState } from './p2pViewers.js';
import { ffmpegPublish } from './rtmpPublish.js';
// p2p-media-loader's own swarm hash, to prove the tracker admits exactly the players' swarms
import { getStreamHash } from '../node_modules/p2p-media-loader-core/lib/utils/peer.js';

// Peer-to-peer delivery in real browsers: Debian's chromium, WebRTC over loopback, a live RTMP
// stream transcoded by a real worker, the tracker on the orchestrator's HTTP port.
let db: Database;
let orch: TestOrchestrator;
let worker: ChildProcess;
let browser: Browser;
const publishers: ChildProcess[] = [];
const ladder = [{ name: 'low', width: 256, height: 144, bitrate: 150_000 }];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`no chromium at ${CHROMIUM}: run make install (Debian's chromium) or set CHROMIUM_PATH`);
  [db, browser] = await Promise.all([openDatabase(), launchViewerBrowser()]);
  orch = await startTestOrchestrator(db, { SEGMINT_IDLE_TIMEOUT: '600' });
  worker = spawnWorker(orch, ['--concurrency', '2']);
}, 120_000);
afterAll(async () => {
  await browser?.close();
  for (const p of publishers) await stopProcess(p);
  await stopProcess(worker);
  await orch?.stop();
  await db?.close();
});

/** A live stream fed by ffmpeg over RTMP (320x180, 15 fps: CPU is scarce), once its playlist is up. */
async function liveStream(name: string, p2p: boolean) {
  const stream = (await api(orch, 'POST', '/api/stream', { name, profiles: ladder, p2p })).json;
  publishers.push(ffmpegPublish({ port: orch.rtmp!.port, key: stream.streamKey, seconds: 120, width: 320, height: 180, fps: 15 }));
  await waitFor('live playlist', async () => (await fetch(`${orch.url}/hls/${stream.playbackId}/index.m3u8`)).status === 200, 60_000, 250);
  return stream as { id: string; playbackId: string; p2p: boolean };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('peer-to-peer delivery', () => {
  it('viewers share segments over WebRTC; every segment a poisoning peer alters is rejected while the others keep playing', async () => {
    const stream = await liveStream('p2p', true);
    expect(stream.p2p).toBe(true);
    const watch = `${orch.url}/watch/${stream.playbackId}`;
    // the attacker arrives first, so it holds the segments the others ask peers for when they join
    const poisoner = await openViewer(browser, watch, { poison: true });
    await poisoner.waitForFunction(() => (window as any).segmintWatch.state === 'playing', undefined, { timeout: 60_000 });
    const honest: Page[] = [];
    for (let i = 0; i < 2; i++) {
      honest.push(await openViewer(browser, watch));
      await sleep(1000);
    }
    for (const page of honest) await page.waitForFunction(() => (window as any).segmintWatch.state === 'playing', undefined, { timeout: 60_000 });
    const t0 = await Promise.all(honest.map((page) => viewerState(page)));
    await sleep(16_000);
    const t1 = await Promise.all(honest.map((page) => viewerState(page)));
    const attacker = await viewerState(poisoner);

    for (const [i, s] of t1.entries()) {
      expect(s.currentTime - t0[i]!.currentTime).toBeGreaterThan(10); // kept playing
      expect(s.delivery!.playedMismatch).toBe(0); // nothing altered reached hls.js
      expect(s.delivery!.playedVerified).toBeGreaterThan(0);
    }
    // the attack happened: the poisoner sent altered segment data, and what arrived was rejected
    expect(await poisoner.evaluate(() => (window as any).poisonedChunks)).toBeGreaterThan(0);
    expect(attacker.delivery!.uploadedBytes).toBeGreaterThan(0);
    const rejected = t1.reduce((a, s) => a + s.delivery!.rejectedSegments, 0);
    expect(rejected).toBeGreaterThan(0);
    // and banned: a rejected segment from one peer bans it, so a banned peer id gets at most one more
    // bad segment to the check, over a connection it already had in the other rendition's swarm
    // (segments with bytes from several peers ban nobody)
    for (const s of t1) expect(s.delivery!.rejectedSegments).toBeLessThanOrEqual(2 * s.delivery!.bannedPeers.length + s.delivery!.rejectedUnattributed);
    expect(t1.reduce((a, s) => a + s.delivery!.bannedPeers.length, 0)).toBeGreaterThan(0);
    // honest viewers still shared with each other
    expect(t1.reduce((a, s) => a + s.delivery!.peerBytes, 0)).toBeGreaterThan(0);

    // the players' reports reach the stream's record and the metrics
    await Promise.all([poisoner, ...honest].map((page) => page.close()));
    const record = await waitFor('reported delivery', async () => {
      const s = (await api(orch, 'GET', `/api/stream/${stream.id}`)).json;
      return s.viewerBytes.peer > 0 && s.viewerBytes.rejectedSegments >= rejected ? s : null;
    }, 15_000, 250);
    expect(record.viewerBytes.origin).toBeGreaterThan(0);
    const metrics = await (await fetch(`${orch.url}/metrics`)).text();
    expect(metrics).toMatch(/segmint_viewer_bytes_total\{source="peer"\} [1-9]/);
    expect(metrics).toMatch(/segmint_peer_segments_rejected_total [1-9]/);
  }, 180_000);

  it('P2P off: no tracker for the stream, every byte from the origin', async () => {
    const stream = await liveStream('origin only', false);
    expect(stream.p2p).toBe(false);
    const pages = [await openViewer(browser, `${orch.url}/watch/${stream.playbackId}`), await openViewer(browser, `${orch.url}/watch/${stream.playbackId}`)];
    for (const page of pages) await page.waitForFunction(() => document.querySelector('video')!.currentTime > 4, undefined, { timeout: 60_000 });
    await sleep(4000);
    for (const page of pages) {
      const s = await viewerState(page);
      expect(s.currentTime).toBeGreaterThan(4);
      expect(s.delivery).toMatchObject({ p2p: false, peerBytes: 0 });
      expect(s.delivery!.originBytes).toBeGreaterThan(0);
      await page.close();
    }
    expect(await upgradeStatus(`/tracker/${stream.playbackId}`)).toBe(403);
  }, 120_000);

  it('the tracker admits only the swarms of its own stream, as the players name them', async () => {
    const a = (await api(orch, 'POST', '/api/stream', { name: 'a', profiles: ladder })).json;
    const b = (await api(orch, 'POST', '/api/stream', { name: 'b', profiles: ladder })).json;
    // same hash as p2p-media-loader's for the swarm id and rendition the player sets
    expect(swarmInfoHash(a.playbackId, 'low')).toBe(Buffer.from(getStreamHash(`v2-segmint-${a.playbackId}-main-low`), 'latin1').toString('hex'));
    expect(await announce(a.playbackId, swarmInfoHash(a.playbackId, 'low'))).toEqual({ ok: true });
    expect(await announce(a.playbackId, swarmInfoHash(a.playbackId, 'source'))).toEqual({ ok: true });
    expect(await announce(a.playbackId, swarmInfoHash(b.playbackId, 'low'))).toEqual({ ok: false, reason: 'not a swarm of this stream' });
    expect(await announce(a.playbackId, swarmInfoHash(a.playbackId, 'other'))).toEqual({ ok: false, reason: 'not a swarm of this stream' });
    expect(await upgradeStatus('/tracker/nope')).toBe(404);
    expect(await upgradeStatus('/tracker')).toBe(404);
  });

  it('delivery reports: bad numbers are a 400, an unknown playback id a 404', async () => {
    const a = (await api(orch, 'POST', '/api/stream', { name: 'r', profiles: ladder })).json;
    const post = (id: string, body: unknown) => fetch(`${orch.url}/api/playback/${id}/delivery`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await post(a.playbackId, { originBytes: -1, peerBytes: 0, rejectedSegments: 0 })).status).toBe(400);
    expect((await post(a.playbackId, { originBytes: 2 ** 40, peerBytes: 0, rejectedSegments: 0 })).status).toBe(400);
    expect((await post(a.playbackId, { originBytes: 1, peerBytes: 0 })).status).toBe(400);
    expect((await post('nope', { originBytes: 1, peerBytes: 0, rejectedSegments: 0 })).status).toBe(404);
    expect((await post(a.playbackId, { originBytes: 10, peerBytes: 30, rejectedSegments: 1 })).status).toBe(204);
    expect((await api(orch, 'GET', `/api/stream/${a.id}`)).json.viewerBytes).toEqual({ origin: 10, peer: 30, rejectedSegments: 1 });
  });
});

/** HTTP status of a websocket upgrade to `path` (101 when it is accepted). */
function upgradeStatus(path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${orch.url.replace(/^http/, 'ws')}${path}`);
    ws.on('open', () => (ws.close(), resolve(101)));
    ws.on('unexpected-response', (_req, res) => (resolve(res.statusCode ?? 0), ws.terminate()));
    ws.on('error', (err) => reject(err));
  });
}

/** One WebTorrent announce over the tracker websocket of `playbackId`. */
function announce(playbackId: string, infoHashHex: string): Promise<{ ok: true } | { ok: false; reason: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${orch.url.replace(/^http/, 'ws')}/tracker/${playbackId}`);
    const bin = (hex: string) => Buffer.from(hex, 'hex').toString('latin1');
    ws.on('open', () => ws.send(JSON.stringify({ action: 'announce', info_hash: bin(infoHashHex), peer_id: bin('2d5757303030302d' + '61'.repeat(12)), numwant: 5, event: 'started', uploaded: 0, downloaded: 0, offers: [] })));
    ws.on('message', (m) => {
      const r = JSON.parse(m.toString()) as { 'failure reason'?: string };
      ws.close();
      resolve(r['failure reason'] ? { ok: false, reason: r['failure reason'] } : { ok: true });
    });
    ws.on('error', reject);
  });
}
