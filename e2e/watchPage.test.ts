import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { generateSegments } from '@segmint/media';
import { openDatabase, type Database } from '../orchestrator/src/db/database.js';
import { api, spawnWorker, startTestOrchestrator, stopProcess, waitFor, type TestOrchestrator } from './helpers.js';

// The watch page in a real browser: Debian's chromium, headless, driven by playwright-core.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = resolve(import.meta.dirname, '../.data/test-artifacts');

let db: Database;
let orch: TestOrchestrator;
let worker: ChildProcess;
let browser: Browser;
let dir: string;
let segments: string[];
let stream: { id: string; streamKey: string; playbackId: string };

const ladder = [
  { name: 'low', width: 320, height: 180, bitrate: 200_000 },
  { name: 'mid', width: 640, height: 360, bitrate: 900_000 },
];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`no chromium at ${CHROMIUM}: run make install (Debian's chromium) or set CHROMIUM_PATH`);
  dir = await mkdtemp(join(tmpdir(), 'segmint-watch-'));
  [db, segments, browser] = await Promise.all([
    openDatabase(),
    generateSegments({ dir, count: 8, width: 640, height: 360 }),
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

describe('watch page', () => {
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
    const page = await browser.newPage();
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    await page.goto(`${orch.url}/watch/${stream.playbackId}`);
    await page.waitForFunction(() => (window as unknown as { segmintWatch: WatchState }).segmintWatch.state === 'playing', undefined, { timeout: 60_000 });
    const before = await page.evaluate(() => (window as unknown as { segmintWatch: WatchState }).segmintWatch.switches);
    // ~250 kb/s: only the 200 kb/s rendition fits
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 50, downloadThroughput: 250_000 / 8, uploadThroughput: 250_000 / 8 });
    const low = await page.waitForFunction(
      (n) => {
        const w = (window as unknown as { segmintWatch: WatchState }).segmintWatch;
        return w.switches > n && w.rendition?.height === 180 ? w.rendition : null;
      },
      before,
      { timeout: 60_000 },
    );
    expect(await low.jsonValue()).toMatchObject({ height: 180 });
    await page.close();
  }, 120_000);

  it('an unknown playback id is a 404 with a named error', async () => {
    const res = await fetch(`${orch.url}/watch/nope`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('PLAYBACK_NOT_FOUND');
  });
});
