import type { ChildProcess } from 'node:child_process';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import HLS from 'hls-parser';
import { ffmpegPath, run } from '@segmint/media';
import { openDatabase, type Database } from '../orchestrator/src/db/database.js';
import { api, spawnWorker, startTestOrchestrator, stopProcess, waitFor, type TestOrchestrator } from './helpers.js';
import { ffmpegPublish } from './rtmpPublish.js';

// One integrator's journey through the API, in order, the way an app does it: create a stream,
// publish with ffmpeg, get `stream.started` on its own HTTP receiver and check the signature itself,
// fetch playback info and play, upload an asset, wait for `asset.ready`, play it, read usage.
let db: Database;
let orch: TestOrchestrator;
let worker: ChildProcess;
let publisher: ChildProcess | undefined;
let receiver: Server;
let dir: string;
const got: { headers: IncomingHttpHeaders; body: string }[] = [];
const low = [{ name: 'low', width: 320, height: 180, bitrate: 200_000, fps: 30 }];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'segmint-journey-'));
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      got.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  db = await openDatabase();
  orch = await startTestOrchestrator(db, { SEGMINT_IDLE_TIMEOUT: '3' });
  worker = spawnWorker(orch, ['--concurrency', '2']);
}, 120_000);
afterAll(async () => {
  await stopProcess(publisher);
  await stopProcess(worker);
  await orch?.stop();
  receiver?.closeAllConnections();
  await new Promise((r) => receiver?.close(r));
  await db?.close();
  await rm(dir, { recursive: true, force: true });
});

/** What a receiver does with `Livepeer-Signature: t=…,v1=HEX`: HMAC-SHA256 of the raw body with the shared secret. */
function signedBy(secret: string, header: string | string[] | undefined, body: string): boolean {
  const v1 = /(?:^|,)\s*v1=([0-9a-f]{64})(?:,|$)/.exec(String(header))?.[1];
  if (!v1) return false;
  return timingSafeEqual(Buffer.from(v1, 'hex'), createHmac('sha256', secret).update(body).digest());
}

const event = (name: string, match: (j: any) => boolean) =>
  waitFor(`${name} delivered`, async () => got.map((g) => ({ ...g, json: JSON.parse(g.body) })).find((g) => g.json.event === name && match(g.json)), 60_000);

describe('an integrator journey', () => {
  it('stream → ffmpeg publish → signed stream.started → playback → asset upload → asset.ready → VOD playback → usage', async () => {
    const started = Date.now();
    // 1. a webhook and a stream
    const receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hooks`;
    const { status: hs, json: hook } = await api(orch, 'POST', '/api/webhook', { name: 'journey', url: receiverUrl, events: ['stream.started', 'stream.idle', 'asset.ready'] });
    expect(hs).toBe(200);
    const { status: ss, json: stream } = await api(orch, 'POST', '/api/stream', { name: 'journey', profiles: low });
    expect(ss).toBe(201);

    // 2. publish with ffmpeg over RTMP
    publisher = ffmpegPublish({ port: orch.rtmp!.port, key: stream.streamKey, seconds: 8, width: 640, height: 360 });

    // 3. stream.started, signed with the webhook's shared secret
    const start = await event('stream.started', (j) => j.stream?.id === stream.id);
    expect(signedBy(hook.sharedSecret, start.headers['livepeer-signature'], start.body)).toBe(true);
    expect(signedBy('another secret entirely', start.headers['livepeer-signature'], start.body)).toBe(false);
    expect(start.json).toMatchObject({ webhookId: hook.id, stream: { id: stream.id, playbackId: stream.playbackId } });

    // 4. playback info, and the live ladder plays
    const { json: info } = await api(orch, 'GET', `/api/playback/${stream.playbackId}`);
    expect(info).toMatchObject({ type: 'live', meta: { live: 1 } });
    const hlsUrl = info.meta.source.find((s: { hrn: string }) => s.hrn === 'HLS (TS)').url as string;
    const live = await waitFor('a live low rendition segment', async () => {
      const media = HLS.parse(await (await fetch(hlsUrl.replace('index.m3u8', 'low/index.m3u8'))).text()) as HLS.types.MediaPlaylist;
      return media.segments[0];
    }, 60_000, 250);
    const liveSeg = await fetch(new URL(live.uri, hlsUrl.replace('index.m3u8', 'low/index.m3u8')));
    expect(liveSeg.status).toBe(200);
    expect((await liveSeg.arrayBuffer()).byteLength).toBeGreaterThan(0);

    // 5. upload an asset (an mp4 made by ffmpeg) and wait for asset.ready
    await run(ffmpegPath(), ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30', '-t', '4', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '60', join(dir, 'clip.mp4')], { timeoutMs: 60_000 });
    const { json: upload } = await api(orch, 'POST', '/api/asset/request-upload', { name: 'journey clip', profiles: low });
    const put = await fetch(upload.url, { method: 'PUT', headers: { 'content-type': 'video/mp4' }, body: new Uint8Array(await readFile(join(dir, 'clip.mp4'))) });
    expect(put.status).toBe(200);
    const ready = await event('asset.ready', (j) => j.asset?.id === upload.asset.id);
    expect(signedBy(hook.sharedSecret, ready.headers['livepeer-signature'], ready.body)).toBe(true);

    // 6. play the asset: its playback info, the VOD playlist and a segment
    const { json: asset } = await api(orch, 'GET', `/api/asset/${upload.asset.id}`);
    expect(asset.status.phase).toBe('ready');
    const { json: vodInfo } = await api(orch, 'GET', `/api/playback/${asset.playbackId}`);
    expect(vodInfo).toMatchObject({ type: 'vod', meta: { source: [{ hrn: 'HLS (TS)', url: asset.playbackUrl }] } });
    const mediaUrl = asset.playbackUrl.replace('index.m3u8', 'low/index.m3u8');
    const vod = HLS.parse(await (await fetch(mediaUrl)).text()) as HLS.types.MediaPlaylist;
    expect(vod.endlist).toBe(true);
    expect(vod.segments.length).toBeGreaterThan(0);
    const vodSeg = await fetch(new URL(vod.segments[0]!.uri, mediaUrl));
    expect([vodSeg.status, vodSeg.headers.get('content-type')]).toEqual([200, 'video/mp2t']);
    expect((await vodSeg.arrayBuffer()).byteLength).toBeGreaterThan(0);

    // 7. usage: the live stream's transcoded minutes are counted for it and for this key
    const usage = await waitFor('usage of the stream', async () => {
      const { json } = await api(orch, 'GET', `/api/data/usage?from=${started - 3_600_000}&to=${Date.now() + 3_600_000}`);
      return json.streams.some((s: { streamId: string; usageMins: number }) => s.streamId === stream.id && s.usageMins > 0) ? json : null;
    }, 30_000, 250);
    expect(usage.usageMins).toBeGreaterThan(0);
    expect(usage.keys.length).toBeGreaterThan(0);
  }, 180_000);
});
