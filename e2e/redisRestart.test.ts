import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import HLS from 'hls-parser';
import { generateSegments } from '@segmint/media';
import { workerQueueName } from '@segmint/protocol';
import { openDatabase, type Database } from '../orchestrator/src/db/database.js';
import { LiveState } from '../orchestrator/src/live/liveState.js';
import { startRedisServer } from '../orchestrator/src/demo/localRedis.js';
import { workerAclUser } from '../orchestrator/src/marketplace/workerAcl.js';
import { marketKeys } from '../orchestrator/src/marketplace/keys.js';
import { api, onlineWorkers, spawnWorker, startTestOrchestrator, stopProcess, waitFor, type TestOrchestrator } from './helpers.js';

let db: Database;
let orch: TestOrchestrator;
/** This file's own Redis, as production runs it (password, AOF everysec): the test restarts it. */
let redisServer: Awaited<ReturnType<typeof startRedisServer>>;
let admin: Redis;
let workers: ChildProcess[] = [];
let mediaDir: string;
let segments: string[];

beforeAll(async () => {
  mediaDir = await mkdtemp(join(tmpdir(), 'segmint-e2e-redis-restart-'));
  [db, segments, redisServer] = await Promise.all([
    openDatabase(),
    generateSegments({ dir: mediaDir, count: 8, width: 640, height: 360, fps: 30 }),
    startRedisServer({ dir: join(mediaDir, 'redis') }),
  ]);
  // The whole stream stays in the playlist, and a job waiting out the restart is not re-auctioned.
  orch = await startTestOrchestrator(db, { SEGMINT_IDLE_TIMEOUT: '600', SEGMINT_HLS_WINDOW: '20', SEGMINT_DEADLINE_FACTOR: '10', REDIS_URL: redisServer.url, SEGMINT_REDIS_CLUSTER: '0' }); // its own single server, even when the suite runs on a cluster
  admin = new Redis(redisServer.url);
  workers = [spawnWorker(orch, ['--concurrency', '1']), spawnWorker(orch, ['--concurrency', '1'])];
}, 120_000);

afterAll(async () => {
  // Each step bounded and timed: in two of three full-suite CI dry runs a step here never finished
  // (alone it takes ~130 ms). Not yet diagnosed: the suspect is the orchestrator's close after a Redis restart.
  const step = async (what: string, f: () => Promise<unknown>) => {
    const started = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise((r) => (timer = setTimeout(r, 30_000, 'timeout')));
    if ((await Promise.race([f(), bound])) === 'timeout') console.warn(`redisRestart teardown: ${what} did not finish within 30 s`);
    else if (Date.now() - started > 5000) console.warn(`redisRestart teardown: ${what} took ${Date.now() - started} ms`);
    clearTimeout(timer);
  };
  for (const w of workers) w.kill('SIGCONT'); // a failed run may leave them frozen
  await step('stopping the workers', () => Promise.all(workers.map((w) => stopProcess(w))));
  await step('stopping the orchestrator', async () => orch?.stop());
  admin?.disconnect();
  await step('stopping Redis', () => stopProcess(redisServer?.child));
  await step('closing the database', async () => db?.close());
  await rm(mediaDir, { recursive: true, force: true });
}, 180_000);

const push = async (key: string, seq: number) =>
  (await fetch(`${orch.url}/live/${key}/${seq}.ts`, { method: 'PUT', headers: { 'content-type': 'video/mp2t' }, body: new Uint8Array(await readFile(segments[seq]!)) })).status;

/** Segment URIs of the rendition's playlist (null while it does not exist). */
async function published(playbackId: string): Promise<string[] | null> {
  const res = await fetch(`${orch.url}/hls/${playbackId}/low/index.m3u8`);
  if (res.status !== 200) return null;
  return (HLS.parse(await res.text()) as HLS.types.MediaPlaylist).segments.map((s) => s.uri);
}

/** Redis users logged in now (one CLIENT LIST line per connection). */
async function loggedIn(redis: Redis): Promise<Set<string>> {
  const list = (await redis.call('CLIENT', 'LIST')) as string;
  return new Set([...list.matchAll(/ user=(\S+) /g)].map((m) => m[1]!));
}

/** Keys that change by themselves (heartbeats, rate windows, BullMQ's own bookkeeping). */
const VOLATILE = /:(\{mkt\}:seen$|\{mkt\}:perf:|ratelimit|[^:]+:(meta|events|stalled-check)$)/;

/** Every other key of the prefix with its value: registrations, live state, dispatch records, queued jobs. */
async function durableState(redis: Redis): Promise<Record<string, unknown>> {
  const state: Record<string, unknown> = {};
  for (const key of (await redis.keys(`${orch.prefix}:*`)).sort()) {
    if (VOLATILE.test(key) && !key.includes(':live:')) continue;
    const type = await redis.type(key);
    state[key] = type === 'string' ? await redis.get(key)
      : type === 'hash' ? await redis.hgetall(key)
        : type === 'list' ? await redis.lrange(key, 0, -1)
          : type === 'set' ? (await redis.smembers(key)).sort()
            : type === 'zset' ? await redis.zrange(key, '0', '-1', 'WITHSCORES')
              : type;
  }
  return state;
}

/** Ids of the jobs waiting in the workers' queues. */
async function waiting(redis: Redis, addresses: string[]): Promise<string[]> {
  const ids: string[] = [];
  for (const a of addresses) {
    ids.push(...(await redis.lrange(`${orch.prefix}:${workerQueueName(a)}:wait`, 0, -1)));
    ids.push(...(await redis.zrange(`${orch.prefix}:${workerQueueName(a)}:prioritized`, '0', '-1')));
  }
  return ids;
}

/** Milliseconds from `since` until `fn` holds (polled every 20 ms). */
async function msUntil(what: string, since: number, fn: () => Promise<unknown>): Promise<number> {
  await waitFor(what, async () => Boolean(await fn()), 60_000, 20);
  return Date.now() - since;
}

describe('Redis restarted mid-stream (SHUTDOWN, then the same data dir and port)', () => {
  it('keeps the stream going with no segment lost or doubled, state and queued job intact, orchestrator and workers back within seconds', async () => {
    const online = await waitFor('both workers online, logged in as their ACL users', async () => {
      const w = await onlineWorkers(orch);
      const users = await loggedIn(admin);
      return w.length === 2 && w.every((x) => users.has(workerAclUser(orch.prefix, x.address))) && w;
    }, 90_000);
    const addresses = online.map((w) => w.address);
    const { json: stream } = await api(orch, 'POST', '/api/stream', { name: 'restart', profiles: [{ name: 'low', width: 320, height: 180, bitrate: 200_000 }] });

    for (const seq of [0, 1, 2, 3]) expect(await push(stream.streamKey, seq)).toBe(200);
    await waitFor('4 segments published', async () => (await published(stream.playbackId))?.length === 4, 90_000);

    // Both workers frozen: segment 4's job waits in a queue while Redis goes down and comes back.
    for (const w of workers) w.kill('SIGSTOP');
    expect(await push(stream.streamKey, 4)).toBe(200);
    const queued = await waitFor('segment 4\'s job in a worker queue', async () => {
      const ids = await waiting(admin, addresses);
      return ids.length === 1 && ids;
    }, 10_000, 20);
    const before = await durableState(admin);

    // SHUTDOWN writes and fsyncs the AOF, then the server exits; start it again on its data dir.
    const exited = new Promise((r) => redisServer.child.once('exit', r));
    // Not awaited: its answer never comes (the connection closes), and ioredis would retry it.
    admin.call('SHUTDOWN').catch(() => undefined);
    await exited;
    admin.disconnect();
    // Redis down for 2 s with everyone running: the orchestrator and the workers retry meanwhile.
    for (const w of workers) w.kill('SIGCONT');
    const downSince = Date.now();
    // A viewer meanwhile is told to retry (503 UNAVAILABLE), not that the server broke (500).
    const whileDown = await fetch(`${orch.url}/hls/${stream.playbackId}/low/index.m3u8`);
    expect({ status: whileDown.status, code: ((await whileDown.json()) as { error: { code: string } }).error.code }).toEqual({ status: 503, code: 'UNAVAILABLE' });
    await new Promise((r) => setTimeout(r, Math.max(0, 2000 - (Date.now() - downSince))));
    for (const w of workers) w.kill('SIGSTOP');
    const port = Number(new URL(redisServer.url).port);
    redisServer = await startRedisServer({ dir: redisServer.dir, port, password: redisServer.password });
    const back = Date.now();
    admin = new Redis(redisServer.url);
    // Read before the workers run again: what Redis loaded from its AOF.
    const after = await durableState(admin);
    for (const w of workers) w.kill('SIGCONT');

    const orchestratorMs = await msUntil('the orchestrator answering /healthz', back, async () => (await fetch(`${orch.url}/healthz`)).status === 200);
    const aclMs = await msUntil('the workers\' ACL users recreated', back, async () => {
      const users = (await admin.call('ACL', 'USERS')) as string[];
      return addresses.every((a) => users.includes(workerAclUser(orch.prefix, a)));
    });
    const workersMs = await msUntil('both workers logged in again', back, async () => {
      const users = await loggedIn(admin);
      return addresses.every((a) => users.has(workerAclUser(orch.prefix, a)));
    });
    const queuedMs = await msUntil('the queued segment published', back, async () => (await published(stream.playbackId))?.length === 5);
    expect(await push(stream.streamKey, 5)).toBe(200);
    const pushed = Date.now();
    await waitFor('the first segment pushed after the restart published', async () => (await published(stream.playbackId))?.length === 6, 60_000, 20);
    const firstMs = Date.now() - pushed;
    for (const seq of [6, 7]) expect(await push(stream.streamKey, seq)).toBe(200);
    await waitFor('8 segments published', async () => (await published(stream.playbackId))?.length === 8, 90_000);

    // eslint-disable-next-line no-console
    console.log(`redis restart: from Redis answering again: orchestrator healthy ${orchestratorMs} ms, worker ACL users recreated ${aclMs} ms, `
      + `workers logged in ${workersMs} ms, job queued across the restart published ${queuedMs} ms; next segment pushed → published ${firstMs} ms`);

    // Nothing lost: every durable key reads the same as before the restart, the queued job included.
    expect(Object.keys(before).length).toBeGreaterThan(20);
    expect(after).toEqual(before);
    const playlist = (await published(stream.playbackId))!;
    expect(playlist).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((seq) => `1_${seq}.ts`));
    const live = await new LiveState(admin, orch.prefix).snapshot(stream.id);
    expect(live.published.map((p) => p.entry?.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(await waiting(admin, addresses)).toEqual([]);
    expect(queued[0]).toContain(`${stream.id}.1.4`);
    // The workers went on under their registrations: none had to register again.
    expect(await admin.hgetall(marketKeys(orch.prefix).workers)).toEqual(before[marketKeys(orch.prefix).workers]);
    // A generous bound only; the figures are printed above.
    for (const ms of [orchestratorMs, aclMs, workersMs]) expect(ms).toBeLessThan(15_000);
  }, 300_000);
});
