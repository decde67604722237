import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateContentSegments, type Content } from '../media/src/quality/cameraSource.js';
import { openDatabase, type Database } from '../orchestrator/src/db/database.js';
import { writeFakeNvencFfmpeg } from './fixtures/fakeNvencFfmpeg.js';
import { api, onlineWorkers, spawnWorker, startTestOrchestrator, stopProcess, waitFor, type TestOrchestrator } from './helpers.js';

// Honest workers whose encoder is not bit-exact (a wrapper ffmpeg announcing h264_nvenc through
// the worker's real probe, encoding with x264 ultrafast) over 200 segments, every one quality
// checked against the orchestrator's own transcode: none flagged. Small segments (1 s, 320x180,
// one rendition); a fifth each of the test pattern, a grainy pan, a dark grainy pan, fast motion
// (the content where encoders differ most) and the cellular automaton (too hard to judge: its
// checks must come out inconclusive, never failed).
const SEGMENTS = 200;
const CONTENTS: Content[] = ['testsrc2', 'pan', 'dark', 'fast', 'life'];
let db: Database;
let orch: TestOrchestrator;
let dir: string;
let segments: Buffer[];
const workers: ChildProcess[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'segmint-quality-honest-'));
  const opts = { count: SEGMENTS / CONTENTS.length, segmentSec: 1, width: 320, height: 180 };
  const [database, ...files] = await Promise.all([
    openDatabase(),
    ...CONTENTS.map((content) => generateContentSegments({ dir: join(dir, content), content, ...opts })),
  ]);
  db = database as Database;
  segments = await Promise.all((files as string[][]).flat().map((f) => readFile(f)));
  orch = await startTestOrchestrator(db, { SEGMINT_SPOTCHECK_RATE: '1', SEGMINT_IDLE_TIMEOUT: '600', SEGMINT_DEADLINE_FACTOR: '10', SEGMINT_CHECK_CONCURRENCY: '2', SEGMINT_MAX_PENDING_CHECKS: '4',
    // Workers win nothing while 4 of their checks are open: a segment waits for them, never skipped.
    SEGMINT_DISPATCH_WAIT_MS: '600000' });
  const ffmpeg = await writeFakeNvencFfmpeg({ dir: join(dir, 'bin') });
  for (const price of ['100', '200']) workers.push(spawnWorker(orch, ['--price', price, '--concurrency', '1'], { FFMPEG_PATH: ffmpeg }));
  await waitFor('two workers online', async () => (await onlineWorkers(orch)).length === 2, 120_000, 200);
}, 900_000);

afterAll(async () => {
  await Promise.all(workers.map((w) => stopProcess(w)));
  await orch?.stop();
  await db?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('quality checks on honest non-bit-exact workers', () => {
  it(`flags none of ${SEGMENTS} segments (pattern and camera-like), every one checked`, async () => {
    const profiles = [{ name: 'low', width: 320, height: 180, bitrate: 300_000 }];
    const streams = await Promise.all(CONTENTS.map(async (name) => (await api(orch, 'POST', '/api/stream', { name, profiles })).json));
    const perStream = SEGMENTS / CONTENTS.length;
    // Pushed at about the pace the two workers and the checks keep up with.
    for (let seq = 0; seq < perStream; seq++) {
      for (const [i, s] of streams.entries()) {
        const res = await fetch(`${orch.url}/live/${s.streamKey}/${seq}.ts`, { method: 'PUT', headers: { 'content-type': 'video/mp2t' }, body: new Uint8Array(segments[i * perStream + seq]!) });
        expect(res.status).toBe(200);
      }
      await waitFor('the pipeline to keep up', async () => (await orch.pipeline.live.meta(streams[0].id))!.nextSeq >= seq - 4, 60_000, 50);
    }
    let shown = 0;
    const result: { skipped: unknown[]; records?: any[] } = await waitFor<{ skipped: unknown[]; records?: any[] }>('every segment checked', async () => {
      // Read from the audit store itself: 200 API reads a second would meet the API's rate limit.
      const store = orch.pipeline.audit.store;
      const all = (await Promise.all(streams.map((s) => Promise.all(Array.from({ length: perStream }, (_, seq) => store.get(s.id, 1, seq)))))).flat();
      const skipped = (await Promise.all(streams.map((s) => store.skips(s.id)))).flat();
      // A skipped segment never gets checked: stop and fail with why, rather than wait out the budget.
      if (skipped.length > 0) return { skipped };
      const done = all.filter((a) => a?.spotCheck && a.spotCheck.outcome !== 'pending');
      if (Date.now() - shown > 60_000) {
        shown = Date.now();
        console.log(`quality-honest: ${done.length} of ${SEGMENTS} segments checked`);
      }
      return done.length === SEGMENTS ? { skipped, records: done } : null;
    }, 1_200_000, 1000);
    expect(result.skipped).toEqual([]);
    const records = result.records!;
    const outcomes: Record<string, number> = {};
    for (const r of records) outcomes[r.spotCheck.outcome] = (outcomes[r.spotCheck.outcome] ?? 0) + 1;
    console.log(`honest non-bit-exact workers: ${records.length} segments, outcomes ${JSON.stringify(outcomes)}`);
    expect(records.length).toBe(SEGMENTS);
    // Any flagged segment with its figures (which measure, which block), so a failure says why.
    const judged = (r: any) => r.spotCheck.outcome === 'quality-pass' || (r.spotCheck.outcome === 'quality-inconclusive' && r.streamId === streams[CONTENTS.indexOf('life')].id);
    expect(records.filter((r) => !judged(r)).map((r) => ({ stream: r.streamId, seq: r.seq, spotCheck: r.spotCheck }))).toEqual([]);
    expect((outcomes['quality-pass'] ?? 0) + (outcomes['quality-inconclusive'] ?? 0)).toBe(SEGMENTS);
    expect(outcomes['quality-fail']).toBeUndefined();
    expect(records.every((r) => r.encoderFingerprint.split(';')[1] === 'h264_nvenc')).toBe(true);
  }, 1_800_000);
});
