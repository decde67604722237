import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { generateSegments } from '@segmint/media';
import { openDatabase, type Database } from '../orchestrator/src/db/database.js';
import { LiveState } from '../orchestrator/src/live/liveState.js';
import { api, startTestOrchestrator, testRedis, waitFor, type TestOrchestrator } from './helpers.js';

// Two orchestrators on one Redis prefix: the live sweep (idle sessions ended, stuck seqs) runs on
// whichever holds its lease, and passes to the other when that one goes away.
let db: Database;
let dir: string;
let segment: Buffer;
let a: TestOrchestrator;
let b: TestOrchestrator;
let aClosed = false;
const prefix = `segmint-e2e-${randomUUID().slice(0, 8)}`;
const env = { SEGMINT_REDIS_PREFIX: prefix, SEGMINT_SECRET: 'shared-sweeps-'.padEnd(40, '0'), SEGMINT_IDLE_TIMEOUT: '2' };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'segmint-sweeps-'));
  const [database, files] = await Promise.all([openDatabase(), generateSegments({ dir, count: 1, width: 320, height: 180 })]);
  db = database;
  segment = await readFile(files[0]!);
  a = await startTestOrchestrator(db, env);
}, 120_000);

afterAll(async () => {
  if (!aClosed) await a?.close();
  await b?.stop(); // and the prefix's keys
  if (a) await rm(a.dataDir, { recursive: true, force: true });
  await db?.close();
  await rm(dir, { recursive: true, force: true });
});

const push = (orch: TestOrchestrator, key: string, seq: number) =>
  fetch(`${orch.url}/live/${key}/${seq}.ts`, { method: 'PUT', headers: { 'content-type': 'video/mp2t' }, body: new Uint8Array(segment) });
/** Pushes a segment through `orch`: session `session` starts (the last one ended); resolves once a sweep has ended it. */
async function idleSession(orch: TestOrchestrator, stream: { id: string; streamKey: string }, session: number): Promise<void> {
  expect((await push(orch, stream.streamKey, session - 1)).status).toBe(200);
  const live = new LiveState(orch.pipeline.live.redis, prefix);
  expect(await live.meta(stream.id)).toMatchObject({ session, ended: false });
  await waitFor(`session ${session} ended by the idle sweep`, async () => (await live.meta(stream.id))?.ended, 20_000, 200);
}

describe('shared sweeps', () => {
  it('ends idle sessions from the orchestrator holding the live sweep, and from the other once that one has gone', async () => {
    const stream = (await api(a, 'POST', '/api/stream', { name: 'sweeps', profiles: [{ name: 'low', width: 160, height: 90, bitrate: 100_000 }] })).json;
    await idleSession(a, stream, 1); // ended by the only orchestrator
    const redis = testRedis();
    try {
      const lease = `${prefix}:sweep:live:lease`;
      const holder = await redis.get(lease);
      expect(holder).not.toBeNull(); // the first orchestrator took it to sweep
      b = await startTestOrchestrator(db, env);
      await idleSession(b, stream, 2); // through the second, ended by the first, still holding the sweep
      expect(await redis.get(lease)).toBe(holder);
      aClosed = true;
      await a.close(); // gives its leases up (a killed one's lapse within 3 s: sweepLease.test.ts)
      await idleSession(b, stream, 3); // ended by the second, now alone
      const taken = await redis.get(lease);
      expect(taken).not.toBeNull();
      expect(taken).not.toBe(holder);
    } finally {
      redis.disconnect();
    }
  }, 120_000);
});
