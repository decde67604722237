import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { ffmpegPath, run } from '@segmint/media';
import { openDatabase, type Database } from '../orchestrator/src/db/database.js';
import { api, REDIS_URL, spawnWorker, startTestOrchestrator, stopProcess, waitFor, type TestOrchestrator } from './helpers.js';

// An asset being processed when its orchestrator stops is finished by the next one on the same
// Redis, database and DATA_DIR: never left `processing` for ever.
let db: Database;
let dir: string;
let mp4: Buffer;
let redis: Redis;
const low = [{ name: 'low', width: 320, height: 180, bitrate: 200_000 }];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'segmint-asset-restart-'));
  const src = ['-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30', '-t', '4'];
  [db] = await Promise.all([
    openDatabase(),
    run(ffmpegPath(), ['-hide_banner', '-loglevel', 'error', '-y', ...src, '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '60', join(dir, 'in.mp4')], { timeoutMs: 60_000 }),
  ]);
  mp4 = await readFile(join(dir, 'in.mp4'));
  redis = new Redis(REDIS_URL);
}, 120_000);
afterAll(async () => {
  redis?.disconnect();
  await db?.close();
  await rm(dir, { recursive: true, force: true });
});

/** Two orchestrators, one after the other, on one state (Redis prefix, database, DATA_DIR). */
async function sharedState(name: string) {
  const env = {
    SEGMINT_REDIS_PREFIX: `segmint-e2e-assetrestart-${randomUUID().slice(0, 8)}`,
    DATA_DIR: join(dir, name),
    // no worker while the first runs: its segments wait (not skipped) until the second's worker comes
    SEGMINT_DISPATCH_WAIT_MS: '600000',
    SEGMINT_ASSET_LEASE_MS: '1500',
  };
  return { env, start: () => startTestOrchestrator(db, env) };
}

const phaseOf = async (o: TestOrchestrator, id: string) => (await api(o, 'GET', `/api/asset/${id}`)).json;

describe('asset processing across an orchestrator restart', () => {
  let worker: ChildProcess | undefined;
  let second: TestOrchestrator | undefined;
  afterEach(async () => {
    await stopProcess(worker);
    await second?.stop();
    worker = second = undefined;
  });

  it('an asset processing when its orchestrator stops is finished by the next one, from the kept upload', async () => {
    const state = await sharedState('clean');
    const first = await state.start();
    const { json: req } = await api(first, 'POST', '/api/asset/request-upload', { name: 'survivor', profiles: low });
    expect((await fetch(req.url, { method: 'PUT', body: new Uint8Array(mp4) })).status).toBe(200);
    await waitFor('segments waiting for a worker', async () => (await phaseOf(first, req.asset.id)).status.phase === 'processing' && (await phaseOf(first, req.asset.id)).size === mp4.length);
    // the kept source is in segment storage (DATA_DIR/segments here), not a temp dir
    expect(existsSync(join(first.dataDir, 'segments', 'asset-sources', req.asset.id))).toBe(true);
    await first.close(); // not stop(): that would delete the shared state

    second = await startTestOrchestrator(db, { ...state.env });
    const key = { ...second, apiKey: first.apiKey };
    // the stop abandoned the work without failing it
    expect((await phaseOf(key, req.asset.id)).status.phase).toBe('processing');
    worker = spawnWorker(second, ['--concurrency', '2']);
    const done = await waitFor('ready after the restart', async () => {
      const a = await phaseOf(key, req.asset.id);
      if (a.status.phase === 'failed') throw new Error(a.status.errorMessage);
      return a.status.phase === 'ready' ? a : null;
    }, 90_000);
    expect(done.videoSpec.duration).toBeCloseTo(4, 0);
    const seg = await fetch(done.playbackUrl.replace('index.m3u8', 'low/0.ts'));
    expect(seg.status).toBe(200);
    expect((await seg.arrayBuffer()).byteLength).toBeGreaterThan(0);
    expect(existsSync(join(second.dataDir, 'segments', 'asset-sources', req.asset.id))).toBe(false);
  }, 150_000);

  it('an orchestrator that died holding the lease is taken over once the lease runs out; a half-received upload fails clearly', async () => {
    const state = await sharedState('crash');
    const first = await state.start();
    const { json: a } = await api(first, 'POST', '/api/asset/request-upload', { name: 'uploaded', profiles: low });
    expect((await fetch(a.url, { method: 'PUT', body: new Uint8Array(mp4) })).status).toBe(200);
    const { json: b } = await api(first, 'POST', '/api/asset/request-upload', { name: 'half uploaded', profiles: low });
    await waitFor('processing', async () => (await phaseOf(first, a.asset.id)).size === mp4.length);
    await first.close();
    // what a killed process leaves: its leases (they run out), and an upload that never completed
    const lease = (id: string) => `${state.env.SEGMINT_REDIS_PREFIX}:asset:lease:${id}`;
    await redis.set(lease(a.asset.id), 'a dead orchestrator', 'PX', 1500);
    await db.query(`UPDATE assets SET phase = 'processing', upload_token_hash = NULL WHERE id = $1`, [b.asset.id]);
    await redis.set(lease(b.asset.id), 'a dead orchestrator', 'PX', 1500);

    second = await startTestOrchestrator(db, { ...state.env });
    const key = { ...second, apiKey: first.apiKey };
    worker = spawnWorker(second, ['--concurrency', '2']);
    const failed = await waitFor('the half upload failed', async () => {
      const x = await phaseOf(key, b.asset.id);
      return x.status.phase === 'failed' ? x : null;
    }, 30_000);
    expect(failed.status.errorMessage).toMatch(/interrupted by an orchestrator restart.*upload again/);
    // the lease's owner was not this process: nothing was taken over before the lease ran out
    expect(await redis.get(lease(a.asset.id))).not.toBe('a dead orchestrator');
    const ready = await waitFor('the other ready', async () => {
      const x = await phaseOf(key, a.asset.id);
      if (x.status.phase === 'failed') throw new Error(x.status.errorMessage);
      return x.status.phase === 'ready' ? x : null;
    }, 90_000);
    expect(ready.playbackUrl).toContain(ready.playbackId);
  }, 150_000);
});
