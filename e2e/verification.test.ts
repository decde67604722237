import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import HLS from 'hls-parser';
import { generateSegments } from '@segmint/media';
import { openDatabase, type Database } from '../orchestrator/src/db/database.js';
import { api, spawnWorker, startTestOrchestrator, stopProcess, waitFor, type TestOrchestrator } from './helpers.js';

// Spot-checks between real worker processes, every segment sampled (SEGMINT_SPOTCHECK_RATE=1).
const PROFILES = [{ name: 'low', width: 320, height: 180, bitrate: 200_000 }, { name: 'mid', width: 480, height: 270, bitrate: 400_000 }];
const SEGMENTS = 4;

let db: Database;
let mediaDir: string;
let segments: Buffer[];
let orch: TestOrchestrator;
let children: ChildProcess[] = [];

beforeAll(async () => {
  mediaDir = await mkdtemp(join(tmpdir(), 'segmint-verify-'));
  const [database, files] = await Promise.all([openDatabase(), generateSegments({ dir: mediaDir, count: SEGMENTS, width: 640, height: 360 })]);
  db = database;
  segments = await Promise.all(files.map((f) => readFile(f)));
}, 120_000);
afterAll(async () => {
  await db?.close();
  await rm(mediaDir, { recursive: true, force: true });
});
beforeEach(async () => {
  orch = await startTestOrchestrator(db, { SEGMINT_SPOTCHECK_RATE: '1', SEGMINT_DEADLINE_FACTOR: '20', SEGMINT_IDLE_TIMEOUT: '600' });
});
afterEach(async () => {
  await Promise.all(children.map((c) => stopProcess(c)));
  children = [];
  await orch?.stop();
});

async function run(workers: { price: string; args?: string[] }[]) {
  children = workers.map((w) => spawnWorker(orch, ['--concurrency', '2', '--price', w.price, ...(w.args ?? [])]));
  const online = await waitFor(`${workers.length} workers online`, async () => {
    const ws = (await (await fetch(`${orch.url}/marketplace/workers`)).json()) as { address: string; pricePerPixel: string; online: boolean }[];
    return ws.filter((w) => w.online).length === workers.length ? ws : null;
  }, 60_000);
  const stream = (await api(orch, 'POST', '/api/stream', { name: 'verified', profiles: PROFILES })).json;
  for (let seq = 0; seq < SEGMENTS; seq++) {
    const res = await fetch(`${orch.url}/live/${stream.streamKey}/${seq}.ts`, { method: 'PUT', headers: { 'content-type': 'video/mp2t' }, body: new Uint8Array(segments[seq]!) });
    expect(res.status).toBe(200);
  }
  await waitFor('every segment published', async () => {
    const res = await fetch(`${orch.url}/hls/${stream.playbackId}/low/index.m3u8`);
    return res.status === 200 && (HLS.parse(await res.text()) as HLS.types.MediaPlaylist).segments.length === SEGMENTS;
  }, 90_000);
  // Every spot-check has an outcome.
  const audits = await waitFor('every spot-check done', async () => {
    const all = await Promise.all(Array.from({ length: SEGMENTS }, (_, seq) => api(orch, 'GET', `/api/stream/${stream.id}/segments/${seq}/audit`)));
    const settled = (o: string) => o !== 'pending' && o !== 'mismatch'; // mismatch: the tie-break is running
    return all.every((a) => a.status === 200 && a.json.spotCheck && settled(a.json.spotCheck.outcome)) ? all.map((a) => a.json) : null;
  }, 90_000);
  return { online, audits };
}

const metric = async (name: string) => Number(new RegExp(`${name} (\\d+)`).exec(await (await fetch(`${orch.url}/metrics`)).text())?.[1] ?? 0);

describe('spot-checks: a second worker with the same encoder fingerprint re-transcodes and hashes are compared', () => {
  it('two honest worker processes agree bit for bit on every segment', async () => {
    const { audits } = await run([{ price: '100' }, { price: '200' }]);
    for (const a of audits) {
      expect(a.spotCheck).toMatchObject({ outcome: 'agree', mismatched: [] });
      expect(a.spotCheck.verifier).not.toBe(a.worker);
    }
    expect(await metric('segmint_spotchecks_total\\{outcome="agree"\\}')).toBe(SEGMENTS);
    expect(await metric('segmint_spotchecks_total\\{outcome="mismatch"\\}')).toBe(0);
  }, 180_000);

  it('with two workers the orchestrator\'s own re-transcode (same build) breaks the tie: the cheater (first rendition at 70 % bitrate) is caught on exactly that rendition, whether it published or verified', async () => {
    const { online, audits } = await run([{ price: '100', args: ['--test-cheat-rate', '1'] }, { price: '200' }]);
    const cheater = online.find((w) => w.pricePerPixel === '100')!.address;
    expect(audits.filter((a) => a.worker === cheater).length).toBeGreaterThan(0);
    for (const a of audits) {
      if (a.worker === cheater) expect(a.spotCheck).toMatchObject({ outcome: 'caught', faulty: cheater, mismatched: ['low'], verifier: 'orchestrator' });
      else if (a.spotCheck.verifier === cheater) expect(a.spotCheck).toMatchObject({ outcome: 'verifier-faulty', faulty: cheater, tieBreaker: 'orchestrator' });
      else expect(a.spotCheck).toMatchObject({ outcome: 'agree', mismatched: [] });
    }
    expect(audits.every((a) => a.spotCheck.faulty === undefined || a.spotCheck.faulty === cheater)).toBe(true);
  }, 180_000);

  it('with three workers the tie-break names the cheater, whether it published or verified; its faults are counted', async () => {
    const { online, audits } = await run([{ price: '100', args: ['--test-cheat-rate', '1'] }, { price: '200' }, { price: '300' }]);
    const cheater = online.find((w) => w.pricePerPixel === '100')!.address;
    for (const a of audits) {
      if (a.worker === cheater) expect(a.spotCheck).toMatchObject({ outcome: 'caught', faulty: cheater, mismatched: ['low'] });
      else if (a.spotCheck.verifier === cheater) expect(a.spotCheck).toMatchObject({ outcome: 'verifier-faulty', faulty: cheater });
      else expect(a.spotCheck.outcome).toBe('agree');
    }
    expect(audits.some((a) => a.spotCheck.faulty === cheater)).toBe(true);
    const perf = ((await (await fetch(`${orch.url}/marketplace/workers/${cheater}`)).json()) as { performance: { faults: number; successRate: number } }).performance;
    expect(perf.faults).toBe(audits.filter((a) => a.spotCheck.faulty === cheater).length);
    expect(perf.successRate).toBeLessThan(1);
    // Nobody honest was blamed.
    expect(audits.every((a) => a.spotCheck.faulty === undefined || a.spotCheck.faulty === cheater)).toBe(true);
  }, 240_000);
});

describe('quality checks: a non-deterministic encoder (NVENC-like) is compared with the orchestrator\'s own transcode, block by block', () => {
  // No GPU here: these workers run libx264 but announce it as non-deterministic (a test-only flag),
  // which sends their sampled segments down the quality path NVENC outputs take.
  const NONDET = ['--test-nondeterministic', '1'];

  it('an honest worker passes on every rendition, checked by the orchestrator itself', async () => {
    const { audits } = await run([{ price: '100', args: NONDET }]);
    for (const a of audits) {
      expect(a.spotCheck).toMatchObject({ outcome: 'quality-pass', mismatched: [], verifier: 'orchestrator' });
      expect(Object.keys(a.spotCheck.quality).sort()).toEqual(['low', 'mid']);
      for (const q of Object.values(a.spotCheck.quality) as { verdict: string }[]) expect(q.verdict).toBe('pass');
    }
    expect(await metric('segmint_spotchecks_total\\{outcome="quality-pass"\\}')).toBe(SEGMENTS);
  }, 180_000);

  it('a worker starving a rendition fails, is excluded from auctions and scored down, and is not slashed', async () => {
    const { online, audits } = await run([{ price: '100', args: [...NONDET, '--test-cheat-rate', '1', '--test-cheat-bitrate', '0.02'] }, { price: '200', args: NONDET }]);
    const cheater = online.find((w) => w.pricePerPixel === '100')!.address.toLowerCase();
    const byCheater = audits.filter((a) => a.worker.toLowerCase() === cheater);
    expect(byCheater.length).toBeGreaterThan(0);
    for (const a of audits) {
      if (a.worker.toLowerCase() === cheater) {
        // Its starved rendition fails, the other passes; its output is replaced by the orchestrator's.
        expect(a.spotCheck).toMatchObject({ outcome: 'quality-fail', faulty: cheater, mismatched: ['low'], replaced: true });
        expect(a.spotCheck.quality.low.verdict).toBe('fail');
        expect(a.spotCheck.quality.mid.verdict).toBe('pass');
      } else {
        expect(a.spotCheck.outcome).toBe('quality-pass');
      }
      expect(a.spotCheck.slash).toBeUndefined();
    }
    const perf = ((await (await fetch(`${orch.url}/marketplace/workers/${cheater}`)).json()) as { performance: { faults: number; successRate: number } }).performance;
    expect(perf.faults).toBe(byCheater.length);
    expect(perf.successRate).toBeLessThan(1);
    // Excluded: while the cheaper cheater is online and idle, the next segments all go to the other worker.
    const stream = (await api(orch, 'GET', `/api/stream/${audits[0]!.streamId}`)).json;
    for (let seq = SEGMENTS; seq < 2 * SEGMENTS; seq++) {
      await fetch(`${orch.url}/live/${stream.streamKey}/${seq}.ts`, { method: 'PUT', headers: { 'content-type': 'video/mp2t' }, body: new Uint8Array(segments[seq - SEGMENTS]!) });
    }
    const later = await waitFor('the next segments audited', async () => {
      const all = await Promise.all(Array.from({ length: SEGMENTS }, (_, i) => api(orch, 'GET', `/api/stream/${stream.id}/segments/${SEGMENTS + i}/audit`)));
      return all.every((a) => a.status === 200) ? all.map((a) => a.json) : null;
    }, 90_000);
    for (const a of later) expect(a.worker.toLowerCase()).not.toBe(cheater);
  }, 240_000);
});
