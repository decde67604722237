import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import HLS from 'hls-parser';
import { generateSegments } from '@segmint/media';
import { openDatabase, type Database } from '../orchestrator/src/db/database.js';
import { Registry } from '../orchestrator/src/marketplace/registry.js';
import { NoChainStake } from '../orchestrator/src/marketplace/stake.js';
import { workerAclUser } from '../orchestrator/src/marketplace/workerAcl.js';
import { marketKeys } from '../orchestrator/src/marketplace/keys.js';
import { paymentKeys } from '../orchestrator/src/payments/creditLedger.js';
import type { AttackContext } from '../attacks/attack.js';
import heartbeatForOther from '../attacks/heartbeatForOther.attack.js';
import registrationFlood from '../attacks/registrationFlood.attack.js';
import { tryOutsideQueue } from '../attacks/redisOutsideQueue.attack.js';
import { postFrom, registeredWorker, signedRegistration, workerRedis } from '../attacks/fixtures/workerCredentials.js';
import { startRedisServer } from '../orchestrator/src/demo/localRedis.js';
import { api, onlineWorkers, spawnWorker, startTestOrchestrator, stopProcess, waitFor, type TestOrchestrator } from './helpers.js';

let db: Database;
let orch: TestOrchestrator;
/** This file's own Redis, as CI and the demo run it: a password, AOF (an open Redis lets anyone AUTH as `default`). */
let redisServer: Awaited<ReturnType<typeof startRedisServer>>;
let redisUrl: string;
let admin: Redis;
let mediaDir: string;
let segments: string[];

beforeAll(async () => {
  mediaDir = await mkdtemp(join(tmpdir(), 'segmint-e2e-acl-'));
  [db, segments, redisServer] = await Promise.all([
    openDatabase(), generateSegments({ dir: mediaDir, count: 2, width: 640, height: 360, fps: 30 }), startRedisServer({ dir: join(mediaDir, 'redis') }),
  ]);
  redisUrl = redisServer.url;
  // Its own single server even when the suite runs on a cluster.
  orch = await startTestOrchestrator(db, { SEGMINT_IDLE_TIMEOUT: '600', REDIS_URL: redisUrl, SEGMINT_REDIS_CLUSTER: '0' });
  admin = new Redis(redisUrl);
}, 120_000);

afterAll(async () => {
  await orch?.stop();
  await admin?.quit();
  await stopProcess(redisServer?.child);
  await db?.close();
  await rm(mediaDir, { recursive: true, force: true });
});

/** What the attack suite's runner gives each attack (attacks/attack.ts). */
const ctx = async (): Promise<AttackContext> => ({ orch, redisUrl, db, segments: await Promise.all(segments.map((f) => readFile(f))), dir: mediaDir });

describe('a worker reaches only its own queue in Redis', () => {
  it('refuses every command outside its queue made with a worker\'s own credentials (HSET/DEL on credit, registry, live state, another queue; FLUSHALL, CONFIG, KEYS, EVAL on foreign keys, ACL)', async () => {
    const { attacker, attempts } = await tryOutsideQueue(await ctx());
    const [ping, ...attacks] = attempts;
    expect(ping).toMatchObject({ refused: false, answer: '"PONG"' });
    expect(attacks.length).toBeGreaterThanOrEqual(40);
    expect(attacks.filter((a) => !a.refused)).toEqual([]);
    // refused by Redis's ACL (or a wrong password), not by some other failure
    for (const a of attacks) expect(a.answer).toMatch(/NOPERM|no permissions|can't run this command|can't access|WRONGPASS/);
    // and nothing changed: no credit appeared, the registry still holds the real registration
    expect(await admin.exists(paymentKeys(orch.prefix).credit(attacker))).toBe(0);
    expect(JSON.parse((await admin.hget(marketKeys(orch.prefix).workers, attacker))!)).toMatchObject({ worker: attacker, pricePerPixel: '100' });
  }, 60_000);

  it('an honest worker process transcodes a pushed segment end to end, connected to Redis as its own ACL user, and again after its registration expired and it registered anew', async () => {
    let worker: ChildProcess | undefined;
    try {
      worker = spawnWorker(orch, ['--concurrency', '1']);
      const [online] = await waitFor('the worker online', async () => {
        const w = await onlineWorkers(orch);
        return w.length > 0 && (await admin.call('CLIENT', 'LIST') as string).includes(`user=${workerAclUser(orch.prefix, w[0]!.address)}`) && w;
      }, 60_000);
      const user = workerAclUser(orch.prefix, online!.address);
      const clients = (await admin.call('CLIENT', 'LIST') as string).split('\n').filter((l) => l.includes(`user=${user} `));
      expect(clients.length).toBeGreaterThan(0);
      const stream = (await api(orch, 'POST', '/api/stream', { name: 'acl' })).json;
      const res = await fetch(`${orch.url}/live/${stream.streamKey}/0.ts`, { method: 'PUT', headers: { 'content-type': 'video/mp2t' }, body: new Uint8Array(await readFile(segments[0]!)) });
      expect(res.status).toBe(200);
      await waitFor('the 240p rendition published', async () => {
        const r = await fetch(`${orch.url}/hls/${stream.playbackId}/240p0/index.m3u8`);
        return r.status === 200 && (HLS.parse(await r.text()) as HLS.types.MediaPlaylist).segments.length === 1;
      }, 90_000);
      expect((await onlineWorkers(orch)).find((w) => w.address === online!.address)?.performance.jobs).toBe(1);

      // Its registration expires (ACL user deleted, connections closed): its next heartbeat is
      // refused, it registers again with a new password, reconnects, and takes the next segment.
      const registry = new Registry(admin, orch.prefix, new NoChainStake(), 3000, { workerRedisUrl: 'redis://127.0.0.1', expireMs: 600_000 });
      await admin.zadd(marketKeys(orch.prefix).seen, Date.now() - 601_000, online!.address);
      expect(await registry.sweep()).toEqual([online!.address]);
      await waitFor('the worker back online as its ACL user', async () =>
        (await onlineWorkers(orch)).some((w) => w.address === online!.address) && (await admin.call('CLIENT', 'LIST') as string).includes(`user=${user} `), 30_000);
      const again = await fetch(`${orch.url}/live/${stream.streamKey}/1.ts`, { method: 'PUT', headers: { 'content-type': 'video/mp2t' }, body: new Uint8Array(await readFile(segments[1]!)) });
      expect(again.status).toBe(200);
      await waitFor('segment 1 published after the re-registration', async () => {
        const r = await fetch(`${orch.url}/hls/${stream.playbackId}/240p0/index.m3u8`);
        return r.status === 200 && (HLS.parse(await r.text()) as HLS.types.MediaPlaylist).segments.length === 2;
      }, 90_000);
    } finally {
      await stopProcess(worker);
    }
  }, 150_000);

  it('re-registration rotates the password: the old one no longer logs in, the new one does', async () => {
    const first = await registeredWorker(orch.url);
    const again = await registeredWorker(orch.url, first.key);
    expect(again.registered.redis.username).toBe(first.registered.redis.username);
    expect(again.registered.redis.password).not.toBe(first.registered.redis.password);
    expect(again.registered.redis.url).not.toMatch(/@/); // never the orchestrator's credentials
    const old = workerRedis(first.registered);
    const refused = new Promise<Error>((r) => old.once('error', r));
    old.connect().catch(() => {});
    expect((await refused).message).toMatch(/WRONGPASS/);
    old.disconnect();
    const now = workerRedis(again.registered);
    await now.connect();
    expect(await now.ping()).toBe('PONG');
    now.disconnect();
    first.client.stop();
    again.client.stop();
  });

  it('forgets a worker not seen for the expiry time: registration, performance and ACL user (its connections closed); recreates a lost ACL user of a live one', async () => {
    const registry = new Registry(admin, orch.prefix, new NoChainStake(), 3000, { workerRedisUrl: 'redis://127.0.0.1', expireMs: 600_000 });
    const stale = await registeredWorker(orch.url);
    const alive = await registeredWorker(orch.url);
    await admin.hset(marketKeys(orch.prefix).perf(stale.registered.worker), 'jobs', '3');
    const conn = workerRedis(stale.registered);
    conn.on('error', () => {}); // closed by Redis below, and refused on reconnect
    await conn.connect();
    // a Redis restarted without an ACL file lost this one's user
    await admin.call('ACL', 'DELUSER', alive.registered.redis.username);
    // the stale worker was last seen 601 s ago; the live one just now
    await admin.zadd(marketKeys(orch.prefix).seen, Date.now() - 601_000, stale.registered.worker);
    expect(await registry.sweep()).toEqual([stale.registered.worker]);
    expect(await admin.hexists(marketKeys(orch.prefix).workers, stale.registered.worker)).toBe(0);
    expect(await admin.exists(marketKeys(orch.prefix).perf(stale.registered.worker))).toBe(0);
    expect(await admin.call('ACL', 'GETUSER', stale.registered.redis.username)).toBeNull();
    await expect(conn.ping()).rejects.toThrow();
    conn.disconnect();
    const listed = ((await (await fetch(`${orch.url}/marketplace/workers`)).json()) as { address: string }[]).map((w) => w.address);
    expect(listed).not.toContain(stale.registered.worker);
    const beat = await postFrom('127.0.0.1', `${orch.url}/marketplace/heartbeat`, { worker: stale.registered.worker }, { authorization: `Bearer ${stale.registered.heartbeatToken}` });
    expect(beat.status).toBe(404);
    expect(JSON.parse(beat.body).error.code).toBe('WORKER_NOT_REGISTERED');
    // the live worker's user is back, with the same password its registration gave
    const back = workerRedis(alive.registered);
    await back.connect();
    expect(await back.ping()).toBe('PONG');
    back.disconnect();
    stale.client.stop();
    alive.client.stop();
  });
});

describe('marketplace and dashboard limits', () => {
  it('a heartbeat for another address with a worker\'s own token is refused', async () => {
    const out = await heartbeatForOther.run(await ctx());
    expect(out).toMatchObject({ succeeded: false });
    expect(out.detail).toMatch(/refused \(401, 401, 401, 401, 401\); its own heartbeat answered 204/);
  });

  it('registrations are limited per address and per IP: 429 REGISTRATION_RATE_LIMITED with Retry-After', async () => {
    // The counters are per wall-clock minute: start early in one so the flood fits in it.
    const left = 60_000 - (Date.now() % 60_000);
    if (left < 30_000) await new Promise((r) => setTimeout(r, left + 200));
    const out = await registrationFlood.run(await ctx());
    expect(out).toMatchObject({ succeeded: false });
    expect(out.detail).toMatch(/one address ×25: 10 accepted, 15 limited, other none; one IP ×100 addresses: 60 accepted, 40 limited, other none/);
    // the answer itself: code, status, Retry-After
    const res = await postFrom('127.0.0.3', `${orch.url}/marketplace/register`, await signedRegistration(orch.url, `0x${'1'.repeat(64)}`, 1n));
    expect(res.status).toBe(429);
    expect(JSON.parse(res.body).error.code).toBe('REGISTRATION_RATE_LIMITED');
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    // other IPs are not affected
    expect((await registeredWorker(orch.url)).registered.redis.username).toMatch(/^w-/);
  }, 120_000);

  it('/dashboard/data.json needs an API key and shows only that owner\'s streams', async () => {
    const mine = (await api(orch, 'POST', '/api/stream', { name: 'mine on the dashboard' })).json;
    await fetch(`${orch.url}/live/${mine.streamKey}/0.ts`, { method: 'PUT', headers: { 'content-type': 'video/mp2t' }, body: new Uint8Array(await readFile(segments[0]!)) });
    expect((await fetch(`${orch.url}/dashboard/data.json`)).status).toBe(401);
    const names = async (key: string) => {
      const res = await fetch(`${orch.url}/dashboard/data.json`, { headers: { authorization: `Bearer ${key}` } });
      expect(res.status).toBe(200);
      return ((await res.json()) as { streams: { name: string }[] }).streams.map((s) => s.name);
    };
    expect(await names(orch.apiKey)).toContain('mine on the dashboard');
    const stranger = await orch.apiKeys.create('stranger');
    expect(await names(stranger.token)).not.toContain('mine on the dashboard');
  });
});
