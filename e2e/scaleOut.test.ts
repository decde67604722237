import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import HLS from 'hls-parser';
import { Balancer } from '../chaos/balancer.js';
import { freePort } from '../orchestrator/src/demo/localRedis.js';
import { ApiKeyStore } from '../orchestrator/src/auth/apiKeys.js';
import { openDatabase } from '../orchestrator/src/db/database.js';
import { deleteKeys, scanKeys } from '../orchestrator/src/redis/redisClient.js';
import { REDIS_ENV, spawnWorker, stopProcess, testRedis, waitFor } from './helpers.js';
import { createTestDatabase, dropTestDatabase } from './postgres.js';
import { ffmpegPublish } from './rtmpPublish.js';
import { startS3Server, type TestS3Server } from './s3Server.js';

/**
 * Stateless orchestrators (issue 15 item 3): three orchestrator processes on the suite's Redis (one
 * server, or the 3-master cluster with SEGMINT_TEST_REDIS_CLUSTER=1), one S3-compatible store and
 * one PostgreSQL database; a worker reaches them through one entry point (any of them hands out its
 * sources and takes its results). A publisher streams to the first over RTMP; the first is killed
 * with SIGKILL mid-stream; the publisher reconnects to the second (as OBS retries); a viewer polling
 * the third sees one continuous playlist: every seq once, in order, none missing, one
 * discontinuity where the publisher came back; then the second ends the session when the
 * reconnect window runs out.
 */
const ROOT = resolve(import.meta.dirname, '..');
const PREFIX = `segmint-scale-${process.pid}`;
const SECRET = 'scale-out-'.padEnd(40, '0');
const WINDOW_SEC = 15;

type Orch = { index: number; http: number; rtmp: number; child: ChildProcess | null; url: string };

let s3: TestS3Server;
let databaseUrl: string;
let lb: Balancer;
let dataDir: string;
const orchs: Orch[] = [];
let worker: ChildProcess | undefined;

function startOrchestrator(o: Orch): Promise<void> {
  o.child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'orchestrator/src/cli.ts'), 'start'], {
    cwd: ROOT,
    env: {
      ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'error', ...REDIS_ENV,
      SEGMINT_HTTP_PORT: String(o.http), SEGMINT_RTMP_PORT: String(o.rtmp), SEGMINT_PUBLIC_URL: `http://127.0.0.1:${lb.port}`,
      SEGMINT_REDIS_PREFIX: PREFIX, DATABASE_URL: databaseUrl, ...s3.env(PREFIX),
      DATA_DIR: join(dataDir, `orch-${o.index}`), SEGMINT_SECRET: SECRET, SEGMINT_ALLOW_PRIVATE_URLS: '1',
      SEGMINT_IDLE_TIMEOUT: '30', SEGMINT_RTMP_RECONNECT_WINDOW: String(WINDOW_SEC), SEGMINT_HLS_WINDOW: '100', SEGMINT_DEADLINE_FACTOR: '5',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  return waitFor(`orchestrator ${o.index} healthy`, async () => (await fetch(`${o.url}/healthz`)).ok, 90_000, 250).then(() => undefined);
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'segmint-scale-'));
  [s3, databaseUrl] = await Promise.all([startS3Server(), createTestDatabase('scale')]);
  for (let i = 0; i < 3; i++) {
    const [http, rtmp] = [await freePort(), await freePort()];
    orchs.push({ index: i, http, rtmp, child: null, url: `http://127.0.0.1:${http}` });
  }
  lb = await Balancer.start(() => orchs.filter((o) => o.child?.exitCode === null && o.child.signalCode === null).map((o) => o.http));
  // One at a time: the first creates the schema the others then find.
  for (const o of orchs) await startOrchestrator(o);
  worker = spawnWorker({ url: `http://127.0.0.1:${lb.port}` }, ['--concurrency', '2']);
}, 300_000);

afterAll(async () => {
  await stopProcess(worker);
  await Promise.all(orchs.map((o) => stopProcess(o.child ?? undefined)));
  await lb?.close();
  await s3?.close();
  if (databaseUrl) await dropTestDatabase(databaseUrl).catch(() => {});
  const redis = testRedis();
  await deleteKeys(redis, await scanKeys(redis, `${PREFIX}:*`));
  await redis.quit();
  await rm(dataDir, { recursive: true, force: true });
}, 60_000);

let token: string;

async function createStream(): Promise<{ id: string; streamKey: string; playbackId: string }> {
  const db = await openDatabase({ url: databaseUrl });
  ({ token } = await new ApiKeyStore(db).create('scale-out'));
  await db.close();
  const res = await fetch(`${orchs[2]!.url}/api/stream`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'scale-out', profiles: [{ name: '240p0', width: 426, height: 240, bitrate: 250_000, fps: 30 }] }),
  });
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string; streamKey: string; playbackId: string };
}

/** What the viewer saw: playlist position → segment URI, where discontinuities were, and whether it ended. */
class Viewer {
  readonly seen = new Map<number, string>();
  readonly discontinuities = new Set<number>();
  readonly conflicts: string[] = [];
  ended = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly url: string) {}

  start(): void {
    this.timer = setInterval(() => void this.poll().catch(() => {}), 500);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private async poll(): Promise<void> {
    const res = await fetch(this.url);
    if (res.status !== 200) return;
    const pl = HLS.parse(await res.text()) as HLS.types.MediaPlaylist;
    pl.segments.forEach((s, i) => {
      const n = (pl.mediaSequenceBase ?? 0) + i;
      const before = this.seen.get(n);
      // A caught segment may be revised (rNN); any other change of a listed entry is a fault.
      if (before && before.replace(/r\d+\.ts$/, '.ts') !== s.uri.replace(/r\d+\.ts$/, '.ts')) this.conflicts.push(`${n}: ${before} then ${s.uri}`);
      this.seen.set(n, s.uri);
      if (s.discontinuity) this.discontinuities.add(n);
    });
    this.ended ||= pl.endlist;
  }
}

/** Publishes for `seconds`, reconnecting (as OBS does) while the RTMP server refuses the key. */
async function publish(port: number, key: string, seconds: number): Promise<ChildProcess> {
  for (;;) {
    const ffmpeg = ffmpegPublish({ port, key, seconds, width: 426, height: 240 });
    const early = await Promise.race([new Promise((r) => ffmpeg.once('exit', () => r(true))), new Promise((r) => setTimeout(() => r(false), 3000))]);
    if (!early) return ffmpeg;
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Source segments the orchestrator at `url` received over RTMP (its /metrics). */
async function rtmpIngested(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^segmint_segments_ingested_total\{source="rtmp"\} (\d+)/m.exec(text)?.[1] ?? 0);
}

describe('three stateless orchestrators on one Redis, S3 and PostgreSQL', () => {
  it('keeps one continuous playlist, no seq missing, when the orchestrator receiving the stream is killed and the publisher reconnects to another', async () => {
    const stream = await createStream();
    const viewer = new Viewer(`${orchs[2]!.url}/hls/${stream.playbackId}/240p0/index.m3u8`);
    viewer.start();
    let cut: number;
    try {
      const first = await publish(orchs[0]!.rtmp, stream.streamKey, 120);
      await waitFor('3 segments on the third orchestrator\'s playlist', async () => viewer.seen.size >= 3, 120_000, 250);
      orchs[0]!.child!.kill('SIGKILL');
      await stopProcess(first);
      // refused ('taken') until the killed one's lease lapses, then the session continues there
      const second = await publish(orchs[1]!.rtmp, stream.streamKey, 8);
      await new Promise((r) => second.once('exit', r));
      cut = await waitFor('the reconnect\'s discontinuity on the playlist', async () => [...viewer.discontinuities][0], 120_000, 250);
      // every segment the second orchestrator received is listed from the cut on
      await waitFor('the reconnected publish on the playlist', async () => {
        const received = await rtmpIngested(orchs[1]!.url);
        return received >= 3 && Math.max(...viewer.seen.keys()) - cut + 1 === received;
      }, 120_000, 500);
      // nobody comes back: the second orchestrator ends the session when the window runs out
      await waitFor('EXT-X-ENDLIST after the reconnect window', async () => viewer.ended, (WINDOW_SEC + 60) * 1000, 500);
    } finally {
      viewer.stop();
    }
    const positions = [...viewer.seen.keys()].sort((a, b) => a - b);
    expect(viewer.conflicts).toEqual([]);
    // every playlist position from the first to the last, once
    expect(positions).toEqual(Array.from({ length: positions.length }, (_, i) => positions[0]! + i));
    // one session (the reconnect is a discontinuity, not a new playlist), its seqs rising by one
    // across the reconnect: none skipped, not even the one the killed orchestrator was cutting
    const uris = positions.map((n) => /^(\d+)_(\d+)(?:r\d+)?\.ts$/.exec(viewer.seen.get(n)!)!);
    expect(new Set(uris.map((m) => m[1])).size).toBe(1);
    const seqs = uris.map((m) => Number(m[2]));
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => seqs[0]! + i));
    expect([...viewer.discontinuities]).toEqual([cut]);
    expect(cut).toBeGreaterThan(positions[0]!);
    // nothing admitted was skipped: every segment of both publishes was transcoded and published
    const skips = await fetch(`${orchs[2]!.url}/api/stream/${stream.id}/skips`, { headers: { authorization: `Bearer ${token}` } });
    expect(skips.status).toBe(200);
    expect(await skips.json()).toEqual([]);
    // each segment is served by the third orchestrator from the shared store
    for (const n of [positions[0]!, cut, positions.at(-1)!]) {
      const res = await fetch(`${orchs[2]!.url}/hls/${stream.playbackId}/240p0/${viewer.seen.get(n)}`);
      expect([n, res.status]).toEqual([n, 200]);
    }
  }, 480_000);
});
