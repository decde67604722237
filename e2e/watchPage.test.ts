import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { generateSegments } from '@segmint/media';
import { openDatabase, type Database } from '../orchestrator/src/db/database.js';
import { api, spawnWorker, startTestOrchestrator, stopProcess, waitFor, type TestOrchestrator } from './helpers.js';

// The watch page and the dashboard in a real browser: Debian's chromium, headless, driven by playwright-core.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = resolve(import.meta.dirname, '../.data/test-artifacts');

let db: Database;
let orch: TestOrchestrator;
let worker: ChildProcess;
let browser: Browser;
let dir: string;
let segments: string[];
let liveSegments: string[];
let stream: { id: string; streamKey: string; playbackId: string };

const ladder = [
  { name: 'low', width: 320, height: 180, bitrate: 200_000 },
  { name: 'mid', width: 640, height: 360, bitrate: 900_000 },
];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`no chromium at ${CHROMIUM}: run make install (Debian's chromium) or set CHROMIUM_PATH`);
  dir = await mkdtemp(join(tmpdir(), 'segmint-watch-'));
  [db, segments, liveSegments, browser] = await Promise.all([
    openDatabase(),
    generateSegments({ dir, count: 8, width: 640, height: 360 }),
    generateSegments({ dir: join(dir, 'live'), count: 16, width: 640, height: 360 }),
    chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] }),
  ]);
  orch = await startTestOrchestrator(db, { SEGMINT_IDLE_TIMEOUT: '600', SEGMINT_HLS_WINDOW: '20' });
  worker = spawnWorker(orch, ['--concurrency', '2']);
  stream = (await api(orch, 'POST', '/api/stream', { name: 'watch me', profiles: ladder })).json;
  for (const [seq, file] of segments.entries()) {
    const res = await fetch(`${orch.url}/live/${stream.streamKey}/${seq}.ts`, { method: 'PUT', headers: { 'content-type': 'video/mp2t' }, body: new Uint8Array(await readFile(file)) });
    expect(res.status).toBe(200);
  }
  await waitFor('every segment published', async () => (await api(orch, 'GET', `/api/stream/${stream.id}`)).json.transcodedSegments === segments.length, 120_000, 250);
  // ended session: the playlists are complete (ENDLIST), so the player plays from the start
  expect((await api(orch, 'DELETE', `/api/stream/${stream.id}/terminate`)).status).toBe(204);
}, 180_000);
afterAll(async () => {
  await browser?.close();
  await stopProcess(worker);
  await orch?.stop();
  await db?.close();
  await rm(dir, { recursive: true, force: true });
});

type WatchState = { state: string; rendition: { name: string | null; height: number } | null; levels: { height: number }[]; switches: number; errors: string[] };

describe('watch page and dashboard', () => {
  it('plays the ladder in headless Chromium: reaches playing, advances ≥ 4 s, shows the rendition', async () => {
    const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    const res = await page.goto(`${orch.url}/watch/${stream.playbackId}`);
    expect(res?.status()).toBe(200);
    await page.waitForFunction(() => (window as unknown as { segmintWatch: WatchState }).segmintWatch.state === 'playing', undefined, { timeout: 60_000 });
    const t0 = await page.evaluate(() => document.querySelector('video')!.currentTime);
    await page.waitForFunction((start) => document.querySelector('video')!.currentTime >= start + 4, t0, { timeout: 60_000 });
    const watch = await page.evaluate(() => (window as unknown as { segmintWatch: WatchState }).segmintWatch);
    expect(watch.levels.map((l) => l.height).sort((a, b) => a - b)).toEqual([180, 360, 360]); // low, mid, source
    expect(watch.rendition).not.toBeNull();
    expect(await page.textContent('#rendition')).toMatch(/\d+x\d+ · \d+ kb\/s/);
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'watch-page.png') });
    expect(pageErrors).toEqual([]);
    await page.close();
  }, 120_000);

  it('switches rendition when the bandwidth is capped', async () => {
    // A live stream fed in real time, so the player keeps fetching new segments while capped.
    // Origin-only (p2p off): with p2p-media-loader's loader the player did not step down within 60 s
    // in one run on a loaded machine; not yet understood (README: Peer-to-peer delivery, known limits).
    const live = (await api(orch, 'POST', '/api/stream', { name: 'abr', profiles: ladder, p2p: false })).json;
    let seq = 0;
    let feeding = true;
    const feed = (async () => {
      while (feeding && seq < liveSegments.length) {
        await fetch(`${orch.url}/live/${live.streamKey}/${seq}.ts`, { method: 'PUT', headers: { 'content-type': 'video/mp2t' }, body: new Uint8Array(await readFile(liveSegments[seq]!)) });
        seq++;
        await new Promise((r) => setTimeout(r, 2000));
      }
    })();
    const page = await browser.newPage();
    try {
      const cdp = await page.context().newCDPSession(page);
      await cdp.send('Network.enable');
      await waitFor('live playlist', async () => (await fetch(`${orch.url}/hls/${live.playbackId}/index.m3u8`)).status === 200, 60_000, 250);
      await page.goto(`${orch.url}/watch/${live.playbackId}`);
      // unthrottled, the player climbs to a 360p rendition
      await page.waitForFunction(() => (window as unknown as { segmintWatch: WatchState }).segmintWatch.rendition?.height === 360, undefined, { timeout: 60_000 });
      // ~250 kb/s: only the 200 kb/s rendition fits
      await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 50, downloadThroughput: 250_000 / 8, uploadThroughput: 250_000 / 8 });
      const low = await page.waitForFunction(() => {
        const r = (window as unknown as { segmintWatch: WatchState }).segmintWatch.rendition;
        return r?.height === 180 ? r : null;
      }, undefined, { timeout: 60_000 });
      expect(await low.jsonValue()).toMatchObject({ height: 180 });
    } finally {
      feeding = false;
      await feed;
      await page.close();
    }
  }, 150_000);

  it('the dashboard shows a live stream after a publish, the workers and recent segments', async () => {
    const live = (await api(orch, 'POST', '/api/stream', { name: 'dash live', profiles: ladder.slice(0, 1) })).json;
    const res = await fetch(`${orch.url}/live/${live.streamKey}/0.ts`, { method: 'PUT', headers: { 'content-type': 'video/mp2t' }, body: new Uint8Array(await readFile(segments[0]!)) });
    expect(res.status).toBe(200);
    const page = await browser.newPage({ viewport: { width: 1200, height: 700 } });
    await page.goto(`${orch.url}/dashboard#key=${orch.apiKey}`);
    await page.waitForFunction(() => {
      const rows = [...document.querySelectorAll('#streams tbody tr')].map((r) => r.textContent ?? '');
      return rows.some((r) => r.includes('dash live') && r.includes('live'));
    }, undefined, { timeout: 30_000 });
    await page.waitForFunction(() => (window as unknown as { segmintDashboard?: { workers: unknown[] } }).segmintDashboard?.workers.length === 1, undefined, { timeout: 30_000 });
    expect(await page.textContent('#streams')).toContain('watch me');
    expect(await page.textContent('#segments')).toMatch(/watch me|dash live/);
    expect(await page.content()).not.toContain(live.streamKey);
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png') });
    await page.close();
  }, 90_000);

  it('an unknown playback id is a 404 with a named error', async () => {
    const res = await fetch(`${orch.url}/watch/nope`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('PLAYBACK_NOT_FOUND');
  });
});
