import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSegments } from '@segmint/media';
import { openDatabase, type Database } from '../orchestrator/src/db/database.js';
import { sweepStuckSeqs } from '../orchestrator/src/live/stuckSweeper.js';
import { api, startTestOrchestrator, type TestOrchestrator } from './helpers.js';

// A seq a crash left in flight (here: admitted, never enqueued, as if the orchestrator died
// between the two) is skipped by the sweep once its job's every deadline is 2 durations past;
// the sweep is called with explicit clocks, so nothing here waits.
let db: Database;
let orch: TestOrchestrator;
let dir: string;
let segment: Buffer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'segmint-stuck-'));
  const [database, files] = await Promise.all([openDatabase(), generateSegments({ dir, count: 1, width: 320, height: 180 })]);
  db = database;
  segment = await readFile(files[0]!);
  // One attempt, 1 s budget, 1 s wait for a slot: a seq's job is over 1 s after ingest.
  orch = await startTestOrchestrator(db, { SEGMINT_JOB_ATTEMPTS: '1', SEGMINT_DEADLINE_MIN_MS: '1000', SEGMINT_DEADLINE_FACTOR: '0.1', SEGMINT_DISPATCH_WAIT_MS: '1000' });
}, 120_000);

afterAll(async () => {
  await orch?.stop();
  await db?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('stuck seqs', () => {
  it('skips a seq left in flight by a crash 2 segment durations after its deadlines, once, and the playlist goes on', async () => {
    const stream = (await api(orch, 'POST', '/api/stream', { name: 'stuck' })).json;
    const p = orch.pipeline;
    // Seq 0 admitted, never enqueued: the "crash".
    expect((await p.live.admit(stream.id, 0, 'aa'.repeat(32))).status).toBe('ok');
    const t0 = Date.now();
    expect(await sweepStuckSeqs(p, t0)).toBe(0); // first sighting
    expect(await sweepStuckSeqs(p, t0 + 1000 + 3900)).toBe(0); // deadline (1 s) + 2 × 2 s not yet past
    expect(await sweepStuckSeqs(p, t0 + 1000 + 4100)).toBe(1);
    expect(await sweepStuckSeqs(p, t0 + 60_000)).toBe(0); // never twice
    const meta = await p.live.meta(stream.id);
    expect(meta?.nextSeq).toBe(1);
    // A later segment pushed for real is not held back by seq 0 any more (here: it is in flight,
    // waiting for a worker, and the sweep leaves it alone until its own deadlines pass).
    const res = await fetch(`${orch.url}/live/${stream.streamKey}/1.ts`, { method: 'PUT', headers: { 'content-type': 'video/mp2t' }, body: new Uint8Array(segment) });
    expect(res.status).toBe(200);
    expect(await sweepStuckSeqs(p, Date.now())).toBe(0);
    expect(await p.live.inflightSeqs(stream.id)).toEqual([1]);
    const metrics = await (await fetch(`${orch.url}/metrics`)).text();
    expect(metrics).toMatch(/segmint_segments_skipped_total\{reason="stuck"\} 1/);
  });
});
