import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { generateSegments } from '@segmint/media';
import { liveKeys } from '@segmint/protocol';
import { ApiKeyStore } from '../orchestrator/src/auth/apiKeys.js';
import { openDatabase, type Database } from '../orchestrator/src/db/database.js';
import { recordingKey } from '../orchestrator/src/sessions/sessionRecorder.js';
import { REDIS_URL, spawnWorker, stopProcess, waitFor } from './helpers.js';

// Usage rows, recording copies and webhooks follow a segment's publication through the stream's
// outbox in Redis (written by the same script as the publication): an orchestrator process
// kill -9'd right after the publish, before (or after) applying them, loses none and counts
// none twice once restarted.
const ROOT = resolve(import.meta.dirname, '..');
const POSTGRES_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `e2e_outbox_${Date.now().toString(36)}`;
let db: Database;
let dir: string;
let segments: Buffer[];
let redis: Redis;
let receiver: Server;
const hooks: { event: string; id: string; sessionId?: string }[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'segmint-outbox-'));
  const [database, files] = await Promise.all([openDatabase({ url: POSTGRES_URL, schema }), generateSegments({ dir, count: 2, width: 640, height: 360 })]);
  db = database;
  segments = await Promise.all(files.map((f) => readFile(f)));
  redis = new Redis(REDIS_URL);
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const b = JSON.parse(body) as { event: string; id: string; payload?: { sessionId?: string } };
      hooks.push({ event: b.event, id: b.id, sessionId: b.payload?.sessionId });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
}, 120_000);

afterAll(async () => {
  await new Promise((r) => receiver?.close(r));
  redis?.disconnect();
  await db?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await db?.close();
  await rm(dir, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

/** `segmint orchestrator start` as its own process, on PostgreSQL (this file's schema). */
function startOrchestrator(env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'orchestrator/src/cli.ts'), 'start'], {
    cwd: ROOT,
    env: {
      ...process.env, LOG_LEVEL: 'warn', REDIS_URL, SEGMINT_RTMP_PORT: '-1', SEGMINT_ALLOW_PRIVATE_URLS: '1', SEGMINT_IDLE_TIMEOUT: '4',
      SEGMINT_DEADLINE_FACTOR: '20', SEGMINT_SPOTCHECK_RATE: '0', DATABASE_URL: `${POSTGRES_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}`, ...env,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}

const exitOf = (child: ChildProcess) => new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_code, signal) => r(signal)));

async function call(url: string, key: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${url}${path}`, { method, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  return res.json() as Promise<any>;
}

type Totals = { usage: number; sessionSegments: number; streamSegments: number; recorded: number[] };
async function totals(streamId: string): Promise<Totals> {
  const [u] = await db.query<{ n: string | null }>(`SELECT sum(segments) AS n FROM usage_hourly WHERE stream_id = $1`, [streamId]);
  const [s] = await db.query<{ n: string | null; rec: { seq: number }[] | string | null }>(`SELECT sum(source_segments) AS n, jsonb_agg(recording_segments) AS rec FROM sessions WHERE stream_id = $1`, [streamId]);
  const [t] = await db.query<{ n: string | number }>(`SELECT source_segments AS n FROM streams WHERE id = $1`, [streamId]);
  const perSession = (typeof s?.rec === 'string' ? JSON.parse(s.rec) : (s?.rec ?? [])) as { seq: number }[][];
  const rec = perSession.flat();
  return { usage: Number(u?.n ?? 0), sessionSegments: Number(s?.n ?? 0), streamSegments: Number(t?.n ?? 0), recorded: rec.map((r) => r.seq).sort() };
}

describe('durable outbox: usage, recordings and webhooks after a crash right after the publish', () => {
  it.each(['before-published', 'after-published'] as const)('orchestrator kill -9\'d %s: everything appears after the restart, once', async (crash) => {
    const prefix = `segmint-e2e-outbox-${randomUUID().slice(0, 8)}`;
    const dataDir = join(dir, crash);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const env = { SEGMINT_REDIS_PREFIX: prefix, DATA_DIR: dataDir, SEGMINT_HTTP_PORT: String(port), SEGMINT_SECRET: `outbox-${crash}` };
    let orch = startOrchestrator({ ...env, SEGMINT_TEST_CRASH_AT_OUTBOX: crash });
    let worker: ChildProcess | undefined;
    try {
      await waitFor('orchestrator up', async () => (await fetch(`${url}/healthz`)).ok, 60_000, 200);
      const { token } = await new ApiKeyStore(db).create(`outbox-${crash}`);
      await call(url, token, 'POST', '/api/webhook', { name: 'all', url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/${crash}`, events: ['stream.started', 'stream.idle', 'recording.ready'] });
      const stream = await call(url, token, 'POST', '/api/stream', { name: crash, record: true, profiles: [{ name: 'low', width: 320, height: 180, bitrate: 200_000 }] });
      worker = spawnWorker({ url }, ['--concurrency', '1']);
      await waitFor('worker online', async () => ((await (await fetch(`${url}/marketplace/workers`)).json()) as { online: boolean }[]).some((w) => w.online), 60_000, 200);
      const died = exitOf(orch);
      expect((await fetch(`${url}/live/${stream.streamKey}/0.ts`, { method: 'PUT', headers: { 'content-type': 'video/mp2t' }, body: new Uint8Array(segments[0]!) })).status).toBe(200);
      expect(await died).toBe('SIGKILL');

      // Published in Redis, its follow-ups still in the outbox.
      const keys = liveKeys(prefix, stream.id);
      expect(await redis.llen(keys.published)).toBe(1);
      expect(await redis.llen(keys.outbox)).toBe(1);
      const before = await totals(stream.id);
      expect(before.recorded).toEqual(crash === 'before-published' ? [] : [0]);
      expect(before.usage).toBe(crash === 'before-published' ? 0 : 1);

      orch = startOrchestrator(env);
      await waitFor('orchestrator up again', async () => (await fetch(`${url}/healthz`)).ok, 60_000, 200);
      expect((await fetch(`${url}/live/${stream.streamKey}/1.ts`, { method: 'PUT', headers: { 'content-type': 'video/mp2t' }, body: new Uint8Array(segments[1]!) })).status).toBe(200);
      await waitFor('2 segments published, outbox drained', async () => (await redis.llen(keys.published)) === 2 && (await redis.llen(keys.outbox)) === 0, 60_000, 200);
      await waitFor('usage of both segments', async () => (await totals(stream.id)).usage === 2, 10_000, 200);
      expect(await totals(stream.id)).toEqual({ usage: 2, sessionSegments: 2, streamSegments: 2, recorded: [0, 1] });
      const [session] = await db.query<{ id: string }>(`SELECT id FROM sessions WHERE stream_id = $1`, [stream.id]);
      for (const seq of [0, 1]) {
        for (const name of ['source', 'low']) expect((await stat(join(dataDir, 'segments', recordingKey(session!.id, name, seq)))).size).toBeGreaterThan(0);
      }

      // The session ends (idle): its webhooks, each once, by the restarted orchestrator.
      const mine = () => hooks.filter((h) => h.sessionId === session!.id);
      await waitFor('stream.idle and recording.ready delivered', async () => mine().some((h) => h.event === 'recording.ready') && mine().some((h) => h.event === 'stream.idle'), 60_000, 200);
      await waitFor('the outbox drained after the end', async () => (await redis.llen(keys.outbox)) === 0, 10_000, 100);
      expect(mine().map((h) => h.event).sort()).toEqual(['recording.ready', 'stream.idle', 'stream.started']);
      expect(new Set(mine().map((h) => h.id)).size).toBe(3);
    } finally {
      await stopProcess(worker);
      await stopProcess(orch);
      const left = await redis.keys(`${prefix}:*`);
      if (left.length) await redis.del(...left);
    }
  }, 180_000);
});
