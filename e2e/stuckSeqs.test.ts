import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSegments, segmentFacts } from '@segmint/media';
import { openDatabase, type Database } from '../orchestrator/src/db/database.js';
import { jobIdOf, storageKeys } from '../orchestrator/src/ingest/jobIds.js';
import { segmentJob } from '../orchestrator/src/ingest/segmentIngest.js';
import { NO_RECORD_GRACE_MS, sweepStuckSeqs } from '../orchestrator/src/live/stuckSweeper.js';
import { marketKeys } from '../orchestrator/src/marketplace/keys.js';
import { api, startTestOrchestrator, testWorker, type TestOrchestrator } from './helpers.js';

// Seqs a crash left in flight with nobody on them, each crash point set up by hand in Redis and
// storage as the crash leaves it: the sweep (called with explicit clocks, so nothing here waits
// on timers) dispatches them again one segment duration after it first sees them orphaned, or
// skips them, with the reason in the audit trail, when there is nothing to transcode.
let db: Database;
let orch: TestOrchestrator;
let dir: string;
let segment: Buffer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'segmint-stuck-'));
  const [database, files] = await Promise.all([openDatabase(), generateSegments({ dir, count: 1, width: 320, height: 180 })]);
  db = database;
  segment = await readFile(files[0]!);
  orch = await startTestOrchestrator(db, { SEGMINT_JOB_ATTEMPTS: '2', SEGMINT_DEADLINE_MIN_MS: '1000', SEGMINT_DEADLINE_FACTOR: '0.1', SEGMINT_DISPATCH_WAIT_MS: '1000' });
}, 120_000);

afterAll(async () => {
  await orch?.stop();
  await db?.close();
  await rm(dir, { recursive: true, force: true });
});

const newStream = async (name: string) => (await api(orch, 'POST', '/api/stream', { name, profiles: [{ name: 'low', width: 160, height: 90, bitrate: 100_000 }] })).json;
const push = (key: string, seq: number) => fetch(`${orch.url}/live/${key}/${seq}.ts`, { method: 'PUT', headers: { 'content-type': 'video/mp2t' }, body: new Uint8Array(segment) });

describe('stuck seqs', () => {
  it('skips a seq whose source a crash lost (admitted, never stored) once the no-record grace has passed since first seeing it, once, with the reason on record', async () => {
    const stream = await newStream('lost source');
    const p = orch.pipeline;
    expect((await p.live.admit(stream.id, 0, 'aa'.repeat(32))).status).toBe('ok');
    const t0 = Date.now();
    expect(await sweepStuckSeqs(p, t0)).toEqual({ recovered: 0, skipped: 0 }); // first sighting
    expect(await sweepStuckSeqs(p, t0 + NO_RECORD_GRACE_MS - 100)).toEqual({ recovered: 0, skipped: 0 }); // its ingest may still be storing it
    expect(await sweepStuckSeqs(p, t0 + NO_RECORD_GRACE_MS + 100)).toEqual({ recovered: 0, skipped: 1 });
    expect(await sweepStuckSeqs(p, t0 + 60_000)).toEqual({ recovered: 0, skipped: 0 }); // never twice
    expect((await p.live.meta(stream.id))?.nextSeq).toBe(1);
    const skips = (await api(orch, 'GET', `/api/stream/${stream.id}/skips`)).json;
    expect(skips).toEqual([expect.objectContaining({ session: 1, seq: 0, reason: 'stuck', detail: expect.stringContaining('source') })]);
    // A later segment pushed for real is not held back by seq 0 any more.
    expect((await push(stream.streamKey, 1)).status).toBe(200);
    expect(await p.live.inflightSeqs(stream.id)).toEqual([1]);
    const metrics = await (await fetch(`${orch.url}/metrics`)).text();
    expect(metrics).toMatch(/segmint_segments_skipped_total\{reason="stuck"\} 1/);
  });

  it('dispatches again a seq whose job record a crash lost (source stored, never enqueued), rebuilt from the stored source', async () => {
    const stream = await newStream('lost job');
    const p = orch.pipeline;
    const worker = await testWorker(orch);
    try {
      expect((await p.live.admit(stream.id, 0, 'bb'.repeat(32))).status).toBe('ok');
      await p.storage.put(storageKeys.source(stream.id, 1, 0), segment);
      const t0 = Date.now();
      expect(await sweepStuckSeqs(p, t0)).toEqual({ recovered: 0, skipped: 0 });
      expect(await sweepStuckSeqs(p, t0 + NO_RECORD_GRACE_MS + 100)).toEqual({ recovered: 1, skipped: 0 });
      const job = await worker.job(jobIdOf(stream.id, 1, 0));
      expect(job.source).toEqual(segmentFacts(segment));
      expect(job.profiles.map((x) => x.name)).toEqual(['low']);
      // taken up: the next sweeps leave it to its worker
      expect(await sweepStuckSeqs(p, t0 + NO_RECORD_GRACE_MS + 10_000)).toEqual({ recovered: 0, skipped: 0 });
    } finally {
      await worker.stop();
    }
  });

  it('dispatches again a seq waiting for a slot in an orchestrator that died, and leaves a live one\'s alone', async () => {
    const stream = await newStream('dead waiter');
    const p = orch.pipeline;
    const jobs = [0, 1].map((seq) => segmentJob(stream, 1, seq, segmentFacts(segment), Date.now()));
    for (const job of jobs) {
      expect((await p.live.admit(stream.id, job.seq, `${job.seq}`.repeat(64))).status).toBe('ok');
      await p.storage.put(storageKeys.source(stream.id, 1, job.seq), segment);
      await p.live.redis.set(marketKeys(orch.prefix).job(job.jobId), JSON.stringify(job));
    }
    await p.live.redis.set(marketKeys(orch.prefix).alive('live-one'), '1', 'PX', 60_000);
    await p.live.redis.hset(marketKeys(orch.prefix).waiting, jobs[0]!.jobId, 'dead-one', jobs[1]!.jobId, 'live-one');
    const worker = await testWorker(orch);
    try {
      const t0 = Date.now();
      await sweepStuckSeqs(p, t0);
      expect(await sweepStuckSeqs(p, t0 + 2100)).toEqual({ recovered: 1, skipped: 0 });
      expect((await worker.job(jobs[0]!.jobId)).seq).toBe(0);
      expect(await worker.hasJob(jobs[1]!.jobId)).toBe(false);
    } finally {
      await worker.stop();
    }
  });

  it('sees through a session that ended with an orphaned seq in flight (its EXT-X-ENDLIST waited on it), then lets it go', async () => {
    const stream = await newStream('ended with a stuck seq');
    const p = orch.pipeline;
    expect((await push(stream.streamKey, 0)).status).toBe(200);
    expect((await p.live.admit(stream.id, 1, 'cc'.repeat(32))).status).toBe('ok'); // never stored: the crash
    await p.endSession(stream.id);
    expect(await p.live.activeStreams()).not.toContain(stream.id);
    expect(await p.live.drainingStreams()).toContain(stream.id);
    const t0 = Date.now();
    await sweepStuckSeqs(p, t0);
    expect((await sweepStuckSeqs(p, t0 + NO_RECORD_GRACE_MS + 100)).skipped).toBe(1);
    expect(await p.live.readySeqs(stream.id)).toEqual([1]); // skipped, waiting for seq 0: a worker's to do (none here)
    await p.live.resolve(stream.id, 0, null, 10);
    expect(await p.live.inflightSeqs(stream.id)).toEqual([]);
    await sweepStuckSeqs(p, t0 + NO_RECORD_GRACE_MS + 200);
    expect(await p.live.drainingStreams()).not.toContain(stream.id);
  });

  it('a push retried after a crash cut the first one short (admitted, never queued) is queued, not taken for a duplicate', async () => {
    const stream = await newStream('retried push');
    const sha = (await import('node:crypto')).createHash('sha256').update(segment).digest('hex');
    expect((await orch.pipeline.live.admit(stream.id, 0, sha)).status).toBe('ok');
    const res = await push(stream.streamKey, 0);
    expect(res.status).toBe(200);
    expect((await res.json()).status).toBe('queued');
    expect(await orch.pipeline.dispatcher.get(jobIdOf(stream.id, 1, 0))).not.toBeNull();
  });
});
