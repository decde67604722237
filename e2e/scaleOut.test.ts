import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import HLS from 'hls-parser';
import { Balancer } from '../chaos/balancer.js';
import { freePort, startRedisCluster, type LocalRedisCluster } from '../orchestrator/src/demo/localRedis.js';
import { ApiKeyStore } from '../orchestrator/src/auth/apiKeys.js';
import { openDatabase } from '../orchestrator/src/db/database.js';
import { REDIS_CLUSTER, REDIS_URL, spawnWorker, stopProcess, waitFor } from './helpers.js';
import { createTestDatabase, dropTestDatabase } from './postgres.js';
import { ffmpegPublish } from './rtmpPublish.js';
import { startS3Server, type TestS3Server } from './s3Server.js';

/**
 * Stateless orchestrators (issue 15 item 3): three orchestrator processes on one Redis Cluster,
 * one S3-compatible store and one PostgreSQL, behind one HTTP entry point for workers. A publisher
 * streams to the first over RTMP; the first is killed with SIGKILL; the publisher reconnects to
 * the second (as OBS retries); a viewer polling the third sees one continuous playlist: every seq
 * once, in order, none missing, a discontinuity where the publisher came back.
 */
const ROOT = resolve(import.meta.dirname, '..');
const PREFIX = `segmint-scale-${process.pid}`;
const SECRET = 'scale-out-'.padEnd(40, '0');

type Orch = { index: number; http: number; rtmp: number; child: ChildProcess | null; url: string };

let cluster: LocalRedisCluster | undefined;
let redisUrl: string;
let s3: TestS3Server;
let databaseUrl: string;
let lb: Balancer;
let dataDir: string;
const orchs: Orch[] = [];
const workers: ChildProcess[] = [];

function startOrchestrator(o: Orch): Promise<void> {
  o.child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'orchestrator/src/cli.ts'), 'start'], {
    cwd: ROOT,
    env: {
      ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'error',
      SEGMINT_HTTP_PORT: String(o.http), SEGMINT_RTMP_PORT: String(o.rtmp), SEGMINT_PUBLIC_URL: `http://127.0.0.1:${lb.port}`,
      REDIS_URL: redisUrl, SEGMINT_REDIS_CLUSTER: '1', SEGMINT_REDIS_PREFIX: PREFIX, DATABASE_URL: databaseUrl,
      ...s3.env(PREFIX), DATA_DIR: join(dataDir, `orch-${o.index}`), SEGMINT_SECRET: SECRET, SEGMINT_ALLOW_PRIVATE_URLS: '1',
      SEGMINT_IDLE_TIMEOUT: '30', SEGMINT_RTMP_RECONNECT_WINDOW: '30', SEGMINT_HLS_WINDOW: '100', SEGMINT_DEADLINE_FACTOR: '5',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  return waitFor(`orchestrator ${o.index} healthy`, async () => (await fetch(`${o.url}/healthz`)).ok, 90_000, 250).then(() => undefined);
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'segmint-scale-'));
  // The suite's cluster when it runs on one (SEGMINT_TEST_REDIS_CLUSTER=1), else one of its own.
  if (!REDIS_CLUSTER) cluster = await startRedisCluster({ dir: join(dataDir, 'redis') });
  redisUrl = cluster?.url ?? REDIS_URL;
  [s3, databaseUrl] = await Promise.all([startS3Server(), createTestDatabase('scale')]);
  for (let i = 0; i < 3; i++) {
    const [http, rtmp] = [await freePort(), await freePort()];
    orchs.push({ index: i, http, rtmp, child: null, url: `http://127.0.0.1:${http}` });
  }
  lb = await Balancer.start(() => orchs.filter((o) => o.child?.exitCode === null && o.child.signalCode === null).map((o) => o.http));
  // One at a time: the first creates the schema the others then find.
  for (const o of orchs) await startOrchestrator(o);
  const lbUrl = { url: `http://127.0.0.1:${lb.port}` };
  for (let i = 0; i < 2; i++) workers.push(spawnWorker(lbUrl, ['--concurrency', '2']));
}, 300_000);

afterAll(async () => {
  await Promise.all(workers.map((w) => stopProcess(w)));
  await Promise.all(orchs.map((o) => stopProcess(o.child ?? undefined)));
  await lb?.close();
  await s3?.close();
  if (databaseUrl) await dropTestDatabase(databaseUrl).catch(() => {});
  await cluster?.stop();
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

/** What the viewer saw: media sequence number → segment URI, and where discontinuities were. */
class Viewer {
  readonly seen = new Map<number, string>();
  readonly discontinuities = new Set<number>();
  readonly conflicts: string[] = [];
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
  }
}

/** Publishes until `seconds` of it ran, reconnecting (as OBS does) while the RTMP server refuses. */
async function publish(port: () => number, key: string, seconds: number): Promise<ChildProcess> {
  for (;;) {
    const ffmpeg = ffmpegPublish({ port: port(), key, seconds, width: 426, height: 240 });
    const early = await Promise.race([new Promise((r) => ffmpeg.once('exit', () => r(true))), new Promise((r) => setTimeout(() => r(false), 3000))]);
    if (!early) return ffmpeg;
    await new Promise((r) => setTimeout(r, 500));
  }
}

describe('three stateless orchestrators on a Redis Cluster, S3 and PostgreSQL', () => {
  it('keeps one continuous playlist when the orchestrator receiving the stream is killed and the publisher reconnects to another', async () => {
    const stream = await createStream();
    const viewer = new Viewer(`${orchs[2]!.url}/hls/${stream.playbackId}/240p0/index.m3u8`);
    viewer.start();
    try {
      const first = await publish(() => orchs[0]!.rtmp, stream.streamKey, 120);
      await waitFor('3 segments on the third orchestrator\'s playlist', async () => viewer.seen.size >= 3, 120_000, 250);
      orchs[0]!.child!.kill('SIGKILL');
      await stopProcess(first);
      const before = viewer.seen.size;
      const second = await publish(() => orchs[1]!.rtmp, stream.streamKey, 8);
      await new Promise((r) => second.once('exit', r));
      await waitFor('the reconnected publish on the playlist', async () => viewer.discontinuities.size >= 1 && viewer.seen.size >= before + 3, 120_000, 250);
      // Let the last segments of the second publish land, then read the whole playlist once more.
      await new Promise((r) => setTimeout(r, 5000));
    } finally {
      viewer.stop();
    }
    const positions = [...viewer.seen.keys()].sort((a, b) => a - b);
    expect(viewer.conflicts).toEqual([]);
    // every playlist position from the first to the last, once
    expect(positions).toEqual(Array.from({ length: positions.length }, (_, i) => positions[0]! + i));
    // One session (the reconnect is a discontinuity, not a new playlist). Seqs rise by one but at
    // the reconnect, which skips the number of the segment the killed orchestrator was cutting
    // (its bytes died with it) and is where the one discontinuity is.
    const uris = positions.map((n) => /^(\d+)_(\d+)(?:r\d+)?\.ts$/.exec(viewer.seen.get(n)!)!);
    expect(new Set(uris.map((m) => m[1])).size).toBe(1);
    const seqs = uris.map((m) => Number(m[2]));
    expect(seqs.length).toBeGreaterThanOrEqual(6);
    expect([...viewer.discontinuities]).toHaveLength(1);
    const cut = [...viewer.discontinuities][0]!;
    expect(cut).toBeGreaterThan(positions[0]!);
    const jumps = positions.slice(1).filter((n, i) => seqs[i + 1]! !== seqs[i]! + 1);
    expect(jumps.every((n) => n === cut)).toBe(true);
    // nothing admitted was skipped: every segment of both publishes was transcoded and published
    const skips = await fetch(`${orchs[2]!.url}/api/stream/${stream.id}/skips`, { headers: { authorization: `Bearer ${token}` } });
    expect(skips.status).toBe(200);
    expect(await skips.json()).toEqual([]);
    // each segment is served by the third orchestrator from the shared store
    for (const n of [positions[0]!, cut, positions.at(-1)!]) {
      const res = await fetch(`${orchs[2]!.url}/hls/${stream.playbackId}/240p0/${viewer.seen.get(n)}`);
      expect([n, res.status]).toEqual([n, 200]);
    }
  }, 420_000);
});
