import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import HLS from 'hls-parser';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { ffmpegPath, generateSegments, probe, run } from '@segmint/media';
import { openDatabase, type Database } from '../orchestrator/src/db/database.js';
import { jobIdOf } from '../orchestrator/src/ingest/jobIds.js';
import { api, spawnWorker, startTestOrchestrator, stopProcess, waitFor, type TestOrchestrator } from './helpers.js';
import { exitOf, ffmpegPublish } from './rtmpPublish.js';
import { S3RVER_KEYS, startS3Server, type TestS3Server } from './s3Server.js';

// Two orchestrators on one Redis prefix, one database and one S3-compatible store (s3rver over
// HTTP): a live RTMP stream published to the first, transcoded by a real worker, plays from the second.
let db: Database;
let s3: TestS3Server;
let a: TestOrchestrator;
let b: TestOrchestrator;
let worker: ChildProcess;
let dir: string;
const PREFIX = 'e2e-media';
const LADDER = [{ name: '240p0', width: 426, height: 240, bitrate: 250_000, fps: 30 }];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'segmint-s3-e2e-'));
  [db, s3] = await Promise.all([openDatabase(), startS3Server()]);
  const shared = { ...s3.env(PREFIX), SEGMINT_SECRET: randomBytes(32).toString('hex'), SEGMINT_IDLE_TIMEOUT: '600' };
  a = await startTestOrchestrator(db, shared);
  b = await startTestOrchestrator(db, { ...shared, SEGMINT_REDIS_PREFIX: a.prefix });
  worker = spawnWorker(a, ['--concurrency', '2']);
}, 120_000);

afterAll(async () => {
  await stopProcess(worker);
  await b?.stop();
  await a?.stop();
  await db?.close();
  await s3?.close();
  await rm(dir, { recursive: true, force: true });
});

async function media(url: string): Promise<HLS.types.MediaPlaylist | null> {
  const res = await fetch(url);
  return res.status === 200 ? (HLS.parse(await res.text()) as HLS.types.MediaPlaylist) : null;
}

/** Every file under `root` whose name ends in .ts (segments), recursively. */
async function tsFiles(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile() && e.name.endsWith('.ts')).map((e) => join(e.parentPath, e.name));
}

describe('segments in an S3-compatible store', () => {
  it('a live RTMP stream published to one orchestrator, transcoded by a real worker, plays from another; no segment touches either disk', async () => {
    const stream = (await api(a, 'POST', '/api/stream', { name: 's3-live', profiles: LADDER })).json as { id: string; streamKey: string; playbackId: string };
    const ff = ffmpegPublish({ port: a.rtmp!.port, key: stream.streamKey, seconds: 8, width: 640, height: 360 });
    expect(await exitOf(ff)).toBe(0);

    const base = `${b.url}/hls/${stream.playbackId}`;
    const transcoded = await waitFor('4 transcoded segments listed by the second orchestrator', async () => {
      const pl = await media(`${base}/240p0/index.m3u8`);
      return pl && pl.segments.length >= 4 ? pl : null;
    }, 90_000);
    const source = (await media(`${base}/source/index.m3u8`))!;
    expect(source.segments.length).toBeGreaterThanOrEqual(4);
    for (const [rendition, pl, size] of [['240p0', transcoded, '426x240'], ['source', source, '640x360']] as const) {
      for (const [i, seg] of pl.segments.entries()) {
        const res = await fetch(`${base}/${rendition}/${seg.uri}`);
        expect(res.status).toBe(200);
        const file = join(dir, `${rendition}-${i}.ts`);
        await writeFile(file, Buffer.from(await res.arrayBuffer()));
        const probed = await probe(file);
        expect(`${probed.video?.codec} ${probed.video?.width}x${probed.video?.height}`).toBe(`h264 ${size}`);
      }
    }

    // the objects are in the bucket, under the configured prefix, and on neither orchestrator's disk
    const client = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: S3RVER_KEYS });
    const listed = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `${PREFIX}/${stream.id}/` }));
    client.destroy();
    const keys = (listed.Contents ?? []).map((c) => c.Key!);
    expect(keys.filter((k) => k.startsWith(`${PREFIX}/${stream.id}/240p0/`)).length).toBeGreaterThanOrEqual(4);
    expect(keys.filter((k) => k.startsWith(`${PREFIX}/${stream.id}/source/`)).length).toBeGreaterThanOrEqual(4);
    expect(await tsFiles(a.dataDir)).toEqual([]);
    expect(await tsFiles(b.dataDir)).toEqual([]);

    // a job handed to a worker of the other orchestrator: it fetches the source from there
    const [session, seq] = source.segments[1]!.uri.replace('.ts', '').split('_').map(Number) as [number, number];
    const jobId = jobIdOf(stream.id, session, seq);
    const w = '0x' + '11'.repeat(20);
    const fromB = await fetch(`${b.url}/transcode/${jobId}/${w}/source.ts`, { headers: { authorization: `Bearer ${b.pipeline.tokens.sign(`${jobId}/${w}`)}` } });
    expect(fromB.status).toBe(200);
    const fromA = await fetch(`${a.url}/transcode/${jobId}/${w}/source.ts`, { headers: { authorization: `Bearer ${a.pipeline.tokens.sign(`${jobId}/${w}`)}` } });
    expect(Buffer.from(await fromB.arrayBuffer()).equals(Buffer.from(await fromA.arrayBuffer()))).toBe(true);
  }, 150_000);

  it('an asset uploaded to one orchestrator is kept in the bucket while processed, then plays from the other', async () => {
    await run(ffmpegPath(), ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30', '-t', '4',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '60', join(dir, 'in.mp4')], { timeoutMs: 60_000 });
    const mp4 = await readFile(join(dir, 'in.mp4'));
    const { json: req } = await api(a, 'POST', '/api/asset/request-upload', { name: 's3-asset', profiles: LADDER });
    expect((await fetch(req.url, { method: 'PUT', body: new Uint8Array(mp4) })).status).toBe(200);
    // the upload is answered once the file is in the bucket (any orchestrator could take it over now)
    const client = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: S3RVER_KEYS });
    const keys = async (prefix: string) => ((await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix }))).Contents ?? []).map((c) => c.Key);
    expect(await keys(`${PREFIX}/asset-sources/${req.asset.id}`)).toEqual([`${PREFIX}/asset-sources/${req.asset.id}`]);
    const done = await waitFor('asset ready', async () => {
      const got = (await api(a, 'GET', `/api/asset/${req.asset.id}`)).json;
      if (got.status.phase === 'failed') throw new Error(got.status.errorMessage);
      return got.status.phase === 'ready' ? got : null;
    }, 120_000);
    const playlist = done.playbackUrl.replace(a.url, b.url) as string;
    expect(playlist.startsWith(b.url)).toBe(true);
    const pl = (await media(playlist.replace('index.m3u8', '240p0/index.m3u8')))!;
    expect(pl.segments.length).toBe(2);
    const seg = await fetch(playlist.replace('index.m3u8', `240p0/${pl.segments[0]!.uri}`));
    expect(seg.status).toBe(200);
    await writeFile(join(dir, 'asset-0.ts'), Buffer.from(await seg.arrayBuffer()));
    expect((await probe(join(dir, 'asset-0.ts'))).video).toMatchObject({ codec: 'h264', width: 426, height: 240 });
    // the source is gone from the bucket once the asset is ready; nothing was kept on either disk
    expect(await keys(`${PREFIX}/asset-sources/${req.asset.id}`)).toEqual([]);
    expect((await keys(`${PREFIX}/assets/${req.asset.id}/240p0/`)).length).toBe(2);
    client.destroy();
    expect(await tsFiles(a.dataDir)).toEqual([]);
  }, 150_000);

  it('while the store is down: playback answers 503 STORAGE_UNAVAILABLE with Retry-After, a pushed segment is refused the same way and counted as skipped; both recover when it is back', async () => {
    const stream = (await api(a, 'POST', '/api/stream', { name: 's3-outage', profiles: LADDER })).json as { id: string; streamKey: string; playbackId: string };
    const segments = await generateSegments({ dir, count: 3, width: 320, height: 180, fps: 30 });
    const push = (seq: number) => readFile(segments[seq]!).then((body) =>
      fetch(`${a.url}/live/${stream.streamKey}/${seq}.ts`, { method: 'PUT', headers: { 'content-type': 'video/mp2t' }, body: new Uint8Array(body) }));
    expect((await push(0)).status).toBe(200);
    const first = await waitFor('segment 0 published', async () => (await media(`${b.url}/hls/${stream.playbackId}/source/index.m3u8`))?.segments[0], 60_000);
    const url = `${b.url}/hls/${stream.playbackId}/source/${first.uri}`;

    await s3.stop();
    try {
      const down = await fetch(url);
      expect(down.status).toBe(503);
      expect(down.headers.get('retry-after')).toBe('1');
      const body = (await down.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('STORAGE_UNAVAILABLE');
      expect(body.error.message).toMatch(new RegExp(`GetObject s3://${s3.bucket}/${PREFIX}/${stream.id}/source/.* failed: .*ECONNREFUSED`));

      const refused = await push(1);
      expect(refused.status).toBe(503);
      expect(((await refused.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'STORAGE_UNAVAILABLE', message: expect.stringMatching(/segment 1 was skipped/) });
      expect(await (await fetch(`${a.url}/metrics`)).text()).toMatch(/segmint_segments_skipped_total\{reason="storage"\} 1/);
    } finally {
      await s3.start();
    }
    expect((await fetch(url)).status).toBe(200);
    expect((await push(2)).status).toBe(200);
    const after = await waitFor('segment 2 published after a discontinuity', async () => {
      const pl = await media(`${b.url}/hls/${stream.playbackId}/source/index.m3u8`);
      return pl && pl.segments.length === 2 ? pl : null;
    }, 60_000);
    expect(after.segments.map((s) => Boolean(s.discontinuity))).toEqual([false, true]);
  }, 120_000);
});
