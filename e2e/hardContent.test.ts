import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { capProfiles, DEFAULT_PROFILES, seededJobDraw } from '@segmint/protocol';
import { fingerprintEncoder } from '@segmint/media';
import { generateContentSegments } from '../media/src/quality/cameraSource.js';
import { openDatabase, type Database } from '../orchestrator/src/db/database.js';
import { writeFakeNvencFfmpeg } from './fixtures/fakeNvencFfmpeg.js';
import { api, onlineWorkers, spawnWorker, startTestOrchestrator, stopProcess, waitFor, type TestOrchestrator } from './helpers.js';

// Content too hard for the quality check to judge: a cellular automaton (hard edges, every block
// changing every frame) from a 360p source at the ladder's 240p rendition, where honest encoders
// differ from the reference by as much as a tampering (README "Quality checks: thresholds"). A
// worker whose encoder is not bit-exact (the fake-NVENC wrapper, through the worker's real probe)
// must not be faulted for honest output there, and one that tampers there must gain nothing.
const SEGMENTS = 5;
const RATE = 0.3;
const PROFILE = { ...capProfiles(DEFAULT_PROFILES, { width: 640, height: 360 }).find((p) => p.name === '240p0')!, name: 'low' };
// A seed whose draw samples seq 0 and leaves at least two later seqs unsampled at RATE: those are
// checked only because the stream was found hard (session 1 is the stream's first).
const SEED = Array.from({ length: 1000 }, (_, i) => `hard-${i}`).find((s) =>
  seededJobDraw(s, 'x.1.0') < RATE && Array.from({ length: SEGMENTS - 1 }, (_, i) => seededJobDraw(s, `x.1.${i + 1}`)).filter((d) => d >= RATE).length >= 2)!;

let db: Database;
let dir: string;
let segments: Buffer[];
let orch: TestOrchestrator;
let children: ChildProcess[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'segmint-hard-content-'));
  const [database, files] = await Promise.all([openDatabase(), generateContentSegments({ dir: join(dir, 'life'), content: 'life', count: SEGMENTS, width: 640, height: 360 })]);
  db = database;
  segments = await Promise.all(files.map((f) => readFile(f)));
}, 180_000);
afterAll(async () => {
  await db?.close();
  await rm(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  orch = await startTestOrchestrator(db, {
    SEGMINT_QUALITY_CHECK_RATE: String(RATE), SEGMINT_SPOTCHECK_RATE: '0', SEGMINT_TEST_SPOTCHECK_SEED: SEED,
    SEGMINT_DEADLINE_FACTOR: '20', SEGMINT_IDLE_TIMEOUT: '600', SEGMINT_MAX_PENDING_CHECKS: '10',
  });
});
afterEach(async () => {
  await Promise.all(children.map((c) => stopProcess(c)));
  children = [];
  await orch?.stop();
});

const audit = (streamId: string, seq: number) => api(orch, 'GET', `/api/stream/${streamId}/segments/${seq}/audit`);
const push = (streamKey: string, seq: number) =>
  fetch(`${orch.url}/live/${streamKey}/${seq}.ts`, { method: 'PUT', headers: { 'content-type': 'video/mp2t' }, body: new Uint8Array(segments[seq]!) });

/** Publishes seq 0, waits for its check, then the rest; returns every audit record once concluded. */
async function stream(): Promise<any[]> {
  const s = (await api(orch, 'POST', '/api/stream', { name: 'automaton', profiles: [PROFILE] })).json;
  expect((await push(s.streamKey, 0)).status).toBe(200);
  await waitFor('seq 0 checked', async () => {
    const a = await audit(s.id, 0);
    return a.status === 200 && a.json.spotCheck && a.json.spotCheck.outcome !== 'pending';
  }, 120_000, 200);
  for (let seq = 1; seq < SEGMENTS; seq++) expect((await push(s.streamKey, seq)).status).toBe(200);
  return waitFor('every segment published and its check concluded', async () => {
    const all = await Promise.all(Array.from({ length: SEGMENTS }, (_, seq) => audit(s.id, seq)));
    if (all.some((a) => a.status !== 200 || a.json.spotCheck?.outcome === 'pending')) return null;
    return all.map((a) => a.json);
  }, 240_000, 250);
}

describe('quality checks on content too hard to judge', () => {
  it('an honest non-bit-exact worker is never faulted; its results are replaced and all checked from then on', async () => {
    const ffmpeg = await writeFakeNvencFfmpeg({ dir: join(dir, 'bin-honest') });
    children.push(spawnWorker(orch, ['--price', '100', '--concurrency', '1'], { FFMPEG_PATH: ffmpeg }));
    await waitFor('the worker online', async () => (await onlineWorkers(orch)).length === 1, 120_000, 200);
    const audits = await stream();
    expect(audits[0].spotCheck).toMatchObject({ outcome: 'quality-inconclusive', verifier: 'orchestrator', replaced: true });
    expect(audits[0].spotCheck.quality.low).toMatchObject({ verdict: 'inconclusive', secondOpinion: { encoder: 'x264 ultrafast' } });
    expect(audits[0].spotCheck.quality.low.secondOpinion.failures.length).toBeGreaterThan(0);
    // Every later result is checked, including the ones the sample rate alone would have skipped.
    for (const a of audits.slice(1)) expect(['quality-inconclusive', 'quality-pass']).toContain(a.spotCheck?.outcome);
    for (const a of audits) expect(a.spotCheck.faulty).toBeUndefined();
    const [w] = await onlineWorkers(orch);
    const perf = ((await (await fetch(`${orch.url}/marketplace/workers/${w!.address}`)).json()) as { performance: { faults: number } }).performance;
    expect(perf.faults).toBe(0);
    const m = await (await fetch(`${orch.url}/metrics`)).text();
    expect(Number(/segmint_spotchecks_total\{outcome="quality-inconclusive"\} (\d+)/.exec(m)?.[1])).toBeGreaterThanOrEqual(1);
  }, 420_000);

  it('a worker blurring the picture there gains nothing: none of its output stays published once the stream is found hard', async () => {
    const cheat = await writeFakeNvencFfmpeg({ dir: join(dir, 'bin-blur'), tamper: 'blur' });
    children.push(spawnWorker(orch, ['--price', '100', '--concurrency', '1'], { FFMPEG_PATH: cheat }));
    // An honest bit-exact worker, dearer: takes over if the cheater is excluded.
    children.push(spawnWorker(orch, ['--price', '300', '--concurrency', '1']));
    await waitFor('two workers online', async () => (await onlineWorkers(orch)).length === 2, 120_000, 200);
    const audits = await stream();
    const byCheater = audits.filter((a) => fingerprintEncoder(a.encoderFingerprint) !== 'libx264');
    // The cheaper cheater won seq 0 (sampled by the seed) and more.
    expect(byCheater[0]?.seq).toBe(0);
    // Every result of its is checked, and each one is either caught or replaced by the
    // orchestrator's own transcode: blurred bytes are never left published.
    for (const a of byCheater) {
      expect({ seq: a.seq, outcome: a.spotCheck?.outcome }).toEqual({ seq: a.seq, outcome: expect.stringMatching(/^quality-(fail|inconclusive)$/) });
      expect(a.spotCheck.replaced).toBe(true);
      expect(a.rev).toBeGreaterThan(0);
    }
  }, 420_000);
});
