import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import HLS from 'hls-parser';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { generateSegments } from '@segmint/media';
import { registrationTypedData } from '@segmint/protocol';
import { openDatabase, type Database } from '../orchestrator/src/db/database.js';
import { api, onlineWorkers, spawnWorker, startTestOrchestrator, stopProcess, waitFor, type TestOrchestrator } from './helpers.js';

// Workers are real processes; segments are small (640x360 → one 320x180 rendition) so transcodes
// take a fraction of the 2 s segment and the deadline (1.5 × 2 s) is only missed on purpose.
const PROFILES = [{ name: 'low', width: 320, height: 180, bitrate: 200_000 }];

let db: Database;
let mediaDir: string;
let segments: Buffer[];

beforeAll(async () => {
  mediaDir = await mkdtemp(join(tmpdir(), 'segmint-market-'));
  const [database, files] = await Promise.all([openDatabase(), generateSegments({ dir: mediaDir, count: 8, width: 640, height: 360 })]);
  db = database;
  segments = await Promise.all(files.map((f) => readFile(f)));
}, 120_000);

afterAll(async () => {
  await db?.close();
  await rm(mediaDir, { recursive: true, force: true });
});

async function workerProcesses(orch: TestOrchestrator, specs: { price: string; args?: string[] }[]) {
  const children = specs.map((s) => spawnWorker(orch, [...(s.args ?? []), '--concurrency', '2', '--price', s.price])); // the first of a repeated flag wins
  const workers = await waitFor(`${specs.length} workers online`, async () => {
    const online = await onlineWorkers(orch);
    return online.length === specs.length ? online : null;
  }, 60_000);
  return { children, workers };
}

/** Pushes segments one per `intervalMs` (a live source, faster than real time). */
async function pushLive(orch: TestOrchestrator, streamKey: string, count: number, intervalMs: number, onPushed?: (seq: number) => Promise<void>) {
  for (let seq = 0; seq < count; seq++) {
    const res = await fetch(`${orch.url}/live/${streamKey}/${seq}.ts`, { method: 'PUT', headers: { 'content-type': 'video/mp2t' }, body: new Uint8Array(segments[seq]!) });
    expect(res.status).toBe(200);
    await onPushed?.(seq);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** The `low` media playlist once it lists `count` segments. */
const published = (orch: TestOrchestrator, playbackId: string, count: number) =>
  waitFor(`${count} segments published`, async () => {
    const p = await mediaPlaylist(orch, playbackId);
    return p && p.segments.length === count ? p : null;
  }, 90_000);

async function mediaPlaylist(orch: TestOrchestrator, playbackId: string) {
  const res = await fetch(`${orch.url}/hls/${playbackId}/low/index.m3u8`);
  return res.status === 200 ? (HLS.parse(await res.text()) as HLS.types.MediaPlaylist) : null;
}

describe('marketplace: deadlines and failover between real worker processes', () => {
  let orch: TestOrchestrator;
  let children: ChildProcess[] = [];

  beforeEach(async () => {
    orch = await startTestOrchestrator(db, { SEGMINT_IDLE_TIMEOUT: '600', SEGMINT_HLS_WINDOW: '10', SEGMINT_SPOTCHECK_RATE: '0' });
  });
  afterEach(async () => {
    await Promise.all(children.map((c) => stopProcess(c)));
    children = [];
    await orch?.stop();
  });

  it('the cheapest eligible worker wins; one whose capability does not fit, or whose ask is above the stream\'s max price, never gets that stream', async () => {
    const spawned = await workerProcesses(orch, [
      { price: '100', args: ['--max-height', '144', '--concurrency', '4'] },
      { price: '200', args: ['--concurrency', '4'] },
      { price: '5000', args: ['--concurrency', '4'] },
    ]);
    children = spawned.children;
    const by = (price: string) => (spawned.workers as unknown as { address: string; pricePerPixel: string }[]).find((w) => w.pricePerPixel === price)!.address;
    // Fits everyone: the cheapest wins. Taller than the cheap worker takes, and capped below the dear one's ask.
    const small = (await api(orch, 'POST', '/api/stream', { name: 'tiny', profiles: [{ name: 'tiny', width: 256, height: 144, bitrate: 150_000 }] })).json;
    const capped = (await api(orch, 'POST', '/api/stream', { name: 'capped', profiles: PROFILES, maxPricePerPixel: '300' })).json;
    expect(capped.maxPricePerPixel).toBe('300');
    for (const s of [small, capped]) {
      for (let seq = 0; seq < 3; seq++) {
        const res = await fetch(`${orch.url}/live/${s.streamKey}/${seq}.ts`, { method: 'PUT', headers: { 'content-type': 'video/mp2t' }, body: new Uint8Array(segments[seq]!) });
        expect(res.status).toBe(200);
      }
    }
    const workersOf = async (s: { id: string }) =>
      waitFor(`3 segments of ${s.id} published`, async () => {
        const all = await Promise.all([0, 1, 2].map((seq) => api(orch, 'GET', `/api/stream/${s.id}/segments/${seq}/audit`)));
        return all.every((a) => a.status === 200) ? all.map((a) => a.json.worker as string) : null;
      }, 90_000);
    expect(await workersOf(small)).toEqual([by('100'), by('100'), by('100')]);
    expect(await workersOf(capped)).toEqual([by('200'), by('200'), by('200')]);
  }, 180_000);

  it('re-runs a slow worker\'s segments elsewhere: every seq published once, in order; the slow worker\'s score falls and it wins less', async () => {
    // The slow worker is the cheapest, so it wins first; it takes 4 s per segment (deadline: 3 s).
    const spawned = await workerProcesses(orch, [{ price: '100', args: ['--test-delay-ms', '4000'] }, { price: '300' }]);
    children = spawned.children;
    const slowAddress = (spawned.workers as unknown as { address: string; pricePerPixel: string }[]).find((w) => w.pricePerPixel === '100')!.address;
    const stream = (await api(orch, 'POST', '/api/stream', { name: 'slow worker', profiles: PROFILES })).json;

    await pushLive(orch, stream.streamKey, 8, 700);
    const playlist = await published(orch, stream.playbackId, 8);
    expect(playlist.segments.map((s) => s.uri)).toEqual(Array.from({ length: 8 }, (_, i) => `1_${i}.ts`));
    expect(playlist.segments.some((s) => s.discontinuity)).toBe(false);

    const metrics = await (await fetch(`${orch.url}/metrics`)).text();
    const missed = Number(/segmint_deadlines_missed_total (\d+)/.exec(metrics)?.[1] ?? 0);
    const reauctioned = Number(/segmint_auctions_total\{outcome="reauctioned"\} (\d+)/.exec(metrics)?.[1] ?? 0);
    expect(missed).toBeGreaterThanOrEqual(1);
    expect(reauctioned).toBeGreaterThanOrEqual(1);
    expect(Number(/segmint_segments_published_total (\d+)/.exec(metrics)?.[1])).toBe(8);

    const all = (await (await fetch(`${orch.url}/marketplace/workers`)).json()) as { address: string; performance: { jobs: number; failures: number; successRate: number; latencyRatio: number } }[];
    const slowPerf = all.find((w) => w.address === slowAddress)!.performance;
    const fastPerf = all.find((w) => w.address !== slowAddress)!.performance;
    expect(slowPerf.successRate).toBeLessThan(1);
    expect(slowPerf.latencyRatio).toBeGreaterThan(fastPerf.latencyRatio);
    // It won its first segments on price, then lost on score: the fast worker did most of the work.
    expect(fastPerf.jobs).toBeGreaterThan(slowPerf.jobs);
    expect(slowPerf.failures).toBeGreaterThanOrEqual(missed > 0 ? 1 : 0);
  }, 180_000);

  it('a lone worker slower than its deadline still gets every segment published: its late results count, its slots stay taken', async () => {
    children = (await workerProcesses(orch, [{ price: '100', args: ['--test-delay-ms', '4000'] }])).children;
    const stream = (await api(orch, 'POST', '/api/stream', { name: 'lone slow worker', profiles: PROFILES })).json;
    let maxInflight = 0;
    const sample = setInterval(() => {
      void onlineWorkers(orch).then((ws) => (maxInflight = Math.max(maxInflight, ...ws.map((w) => (w as unknown as { inflight: number }).inflight))), () => {});
    }, 100).unref();
    await pushLive(orch, stream.streamKey, 4, 700);
    const playlist = await published(orch, stream.playbackId, 4);
    expect(playlist.segments.map((s) => s.uri)).toEqual(Array.from({ length: 4 }, (_, i) => `1_${i}.ts`));
    expect(playlist.segments.some((s) => s.discontinuity)).toBe(false);
    const metrics = await (await fetch(`${orch.url}/metrics`)).text();
    expect(Number(/segmint_deadlines_missed_total (\d+)/.exec(metrics)?.[1] ?? 0)).toBeGreaterThanOrEqual(1);
    clearInterval(sample);
    // Never more segments in hand than its 2 slots, even after deadlines passed.
    expect(maxInflight).toBe(2);
    const [w] = await onlineWorkers(orch);
    expect(w!.performance.failures).toBeGreaterThanOrEqual(1);
  }, 180_000);

  it('kill -9 of a worker mid-stream: its segments go to the other worker by their deadline, no seq missing', async () => {
    const spawned = await workerProcesses(orch, [{ price: '100' }, { price: '300' }]);
    children = spawned.children;
    const cheap = (spawned.workers as unknown as { address: string; pricePerPixel: string }[]).find((w) => w.pricePerPixel === '100')!.address;
    const cheapChild = children[0]!;
    const stream = (await api(orch, 'POST', '/api/stream', { name: 'kill -9', profiles: PROFILES })).json;

    await pushLive(orch, stream.streamKey, 8, 700, async (seq) => {
      // Right after seq 3 is pushed (the cheap worker has it in hand), kill it without warning.
      if (seq === 3) cheapChild.kill('SIGKILL');
    });
    const playlist = await published(orch, stream.playbackId, 8);
    expect(playlist.segments.map((s) => s.uri)).toEqual(Array.from({ length: 8 }, (_, i) => `1_${i}.ts`));
    expect(playlist.segments.some((s) => s.discontinuity)).toBe(false);
    // The dead worker's heartbeat lapsed: it is no longer offered work.
    await waitFor('dead worker offline', async () => !(await onlineWorkers(orch)).some((w) => w.address === cheap), 10_000);
  }, 180_000);
});

describe('marketplace: registration is signed and replay-protected', () => {
  let orch: TestOrchestrator;
  beforeAll(async () => {
    orch = await startTestOrchestrator(db);
  });
  afterAll(async () => orch?.stop());

  const capabilities = { encoders: ['libx264'], maxConcurrent: 1, cores: 1, maxHeight: 1080, fingerprint: 'f' };
  async function signed(signerKey: `0x${string}`, worker: string, nonce: string) {
    const info = (await (await fetch(`${orch.url}/marketplace/info`)).json()) as { orchestrator: string; chainId: number };
    const unsigned = { worker, pricePerPixel: '100', capabilities, nonce };
    const signature = await privateKeyToAccount(signerKey).signTypedData(registrationTypedData(unsigned, info.orchestrator, info.chainId));
    return { ...unsigned, signature };
  }
  const register = (body: unknown) => fetch(`${orch.url}/marketplace/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const errorOf = async (res: Response) => ({ status: res.status, code: ((await res.json()) as { error: { code: string } }).error.code });

  it('accepts a registration signed by the worker, then heartbeats with the token it returns', async () => {
    const key = generatePrivateKey();
    const address = privateKeyToAccount(key).address;
    const res = await register(await signed(key, address, '1'));
    expect(res.status).toBe(200);
    const { heartbeatToken } = (await res.json()) as { heartbeatToken: string };
    const beat = await fetch(`${orch.url}/marketplace/heartbeat`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${heartbeatToken}` }, body: JSON.stringify({ worker: address }) });
    expect(beat.status).toBe(204);
    const noToken = await fetch(`${orch.url}/marketplace/heartbeat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ worker: address }) });
    expect(await errorOf(noToken)).toEqual({ status: 401, code: 'UNAUTHORIZED' });
  });

  it('refuses a registration signed by another key (401 REGISTRATION_FORGED) and registers nothing', async () => {
    const victim = privateKeyToAccount(generatePrivateKey()).address;
    expect(await errorOf(await register(await signed(generatePrivateKey(), victim, '1')))).toEqual({ status: 401, code: 'REGISTRATION_FORGED' });
    expect(await errorOf(await fetch(`${orch.url}/marketplace/workers/${victim}`))).toEqual({ status: 404, code: 'WORKER_NOT_REGISTERED' });
  });

  it('refuses a replayed registration, or an older nonce (409 REGISTRATION_REPLAYED)', async () => {
    const key = generatePrivateKey();
    const address = privateKeyToAccount(key).address;
    const body = await signed(key, address, '5');
    expect((await register(body)).status).toBe(200);
    expect(await errorOf(await register(body))).toEqual({ status: 409, code: 'REGISTRATION_REPLAYED' });
    expect(await errorOf(await register(await signed(key, address, '4')))).toEqual({ status: 409, code: 'REGISTRATION_REPLAYED' });
    expect((await register(await signed(key, address, '6'))).status).toBe(200);
  });

  it('refuses a registration for another orchestrator (the URL is signed) and malformed ones (400)', async () => {
    const key = generatePrivateKey();
    const account = privateKeyToAccount(key);
    const unsigned = { worker: account.address, pricePerPixel: '100', capabilities, nonce: '1' };
    const elsewhere = await account.signTypedData(registrationTypedData(unsigned, 'http://other.example', 31337));
    expect(await errorOf(await register({ ...unsigned, signature: elsewhere }))).toEqual({ status: 401, code: 'REGISTRATION_FORGED' });
    expect(await errorOf(await register({ ...unsigned, signature: '0x1234' }))).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
    expect(await errorOf(await register({ ...unsigned, pricePerPixel: '-1', signature: elsewhere }))).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
  });
});

describe('marketplace: two orchestrators on one Redis and one PostgreSQL', () => {
  const POSTGRES_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const schema = `e2e_two_${Date.now().toString(36)}`;
  let dbA: Database;
  let dbB: Database;
  let a: TestOrchestrator;
  let b: TestOrchestrator;
  let children: ChildProcess[] = [];
  let shared: { dir: string; prefix: string };

  beforeAll(async () => {
    dbA = await openDatabase({ url: POSTGRES_URL, schema });
    dbB = await openDatabase({ url: POSTGRES_URL, schema });
    shared = { dir: await mkdtemp(join(tmpdir(), 'segmint-two-')), prefix: `segmint-e2e-two-${Date.now().toString(36)}` };
    // Same Redis prefix, job-token secret and segment storage (a shared volume): one deployment.
    const env = { SEGMINT_REDIS_PREFIX: shared.prefix, DATA_DIR: shared.dir, SEGMINT_SECRET: 'two-orchestrators', SEGMINT_IDLE_TIMEOUT: '600', SEGMINT_HLS_WINDOW: '10', SEGMINT_DEADLINE_FACTOR: '20', SEGMINT_SPOTCHECK_RATE: '0' };
    [a, b] = await Promise.all([startTestOrchestrator(dbA, env), startTestOrchestrator(dbB, env)]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all(children.map((c) => stopProcess(c)));
    await a?.stop();
    await b?.stop();
    await dbA?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await dbA?.close();
    await dbB?.close();
  });

  it('each segment is transcoded once and published once, in order, whichever orchestrator took it in', async () => {
    // Both workers register with A; B sees them through Redis and auctions its segments to them too.
    children = (await workerProcesses(a, [{ price: '100' }, { price: '200' }])).children;
    const s1 = (await api(a, 'POST', '/api/stream', { name: 'via A', profiles: PROFILES })).json;
    const s2 = (await api(b, 'POST', '/api/stream', { name: 'via B', profiles: PROFILES })).json;
    await Promise.all([pushLive(a, s1.streamKey, 6, 300), pushLive(b, s2.streamKey, 6, 300)]);

    for (const [orch, s] of [[a, s1], [b, s2]] as const) {
      const playlist = await published(orch, s.playbackId, 6);
      expect(playlist.segments.map((x) => x.uri)).toEqual(Array.from({ length: 6 }, (_, i) => `1_${i}.ts`));
      expect(playlist.segments.some((x) => x.discontinuity)).toBe(false);
      expect(Number(/segmint_segments_published_total (\d+)/.exec(await (await fetch(`${orch.url}/metrics`)).text())?.[1])).toBe(6);
    }
    // 12 segments, 12 transcodes: no segment ran twice, none was lost.
    const workers = (await (await fetch(`${b.url}/marketplace/workers`)).json()) as { performance: { jobs: number; failures: number } }[];
    expect(workers.reduce((n, w) => n + w.performance.jobs, 0)).toBe(12);
    expect(workers.reduce((n, w) => n + w.performance.failures, 0)).toBe(0);
  }, 180_000);
});
