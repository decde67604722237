import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSegments } from '@segmint/media';
import { openDatabase, type Database } from '../orchestrator/src/db/database.js';
import { api, onlineWorkers, spawnWorker, startTestOrchestrator, stopProcess, waitFor, type TestOrchestrator } from './helpers.js';

// The worker's SIGTERM path, which Kubernetes' graceful termination (deploy/k8s/worker.yaml,
// terminationGracePeriodSeconds) relies on: a worker told to stop while it holds a segment
// finishes it (the segment is published) and only then exits, with code 0.
let db: Database;
let orch: TestOrchestrator;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'segmint-sigterm-'));
  db = await openDatabase();
  // Generous deadlines: the job must not be re-auctioned (there is no other worker) while held.
  orch = await startTestOrchestrator(db, { SEGMINT_DEADLINE_FACTOR: '30' });
}, 120_000);

afterAll(async () => {
  await orch?.stop();
  await db?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('worker SIGTERM', () => {
  it('finishes the segment in hand (published) before it exits with code 0', async () => {
    const [segment] = await generateSegments({ dir, count: 1, width: 320, height: 180 });
    const work = join(dir, 'worker-tmp'); // the worker's TMPDIR: a segmint-job-* folder there is a job in hand
    await mkdir(work);
    // a slow worker: 3 s before each segment, so SIGTERM lands while it holds one
    const worker = spawnWorker(orch, ['--concurrency', '1', '--test-delay-ms', '3000'], { TMPDIR: work });
    try {
      await waitFor('the worker online', async () => (await onlineWorkers(orch)).length === 1, 90_000);
      const stream = (await api(orch, 'POST', '/api/stream', { name: 'sigterm', profiles: [{ name: 'low', width: 160, height: 90, bitrate: 100_000 }] })).json;
      let publishedAt = 0;
      orch.pipeline.events.on('published', (streamId: string) => {
        if (streamId === stream.id && !publishedAt) publishedAt = Date.now();
      });
      const push = await fetch(`${orch.url}/live/${stream.streamKey}/0.ts`, { method: 'PUT', headers: { 'content-type': 'video/mp2t' }, body: new Uint8Array(await readFile(segment!)) });
      expect(push.status).toBe(200);
      await waitFor('the segment in the worker\'s hands', async () => (await readdir(work)).some((f) => f.startsWith('segmint-job-')), 60_000, 50);
      expect(publishedAt).toBe(0);

      const exited = new Promise<{ code: number | null; at: number }>((done) => worker.once('exit', (code) => done({ code, at: Date.now() })));
      worker.kill('SIGTERM');
      const { code, at } = await Promise.race([exited, new Promise<never>((_, fail) => setTimeout(() => fail(new Error('the worker did not exit within 90 s of SIGTERM')), 90_000))]);
      expect(code).toBe(0);
      expect(publishedAt).toBeGreaterThan(0); // the segment it held was published…
      expect(publishedAt).toBeLessThanOrEqual(at); // …before it exited
      expect((await readdir(work)).filter((f) => f.startsWith('segmint-job-'))).toEqual([]); // and cleaned up
    } finally {
      await stopProcess(worker, 'SIGKILL');
    }
  }, 240_000);
});
