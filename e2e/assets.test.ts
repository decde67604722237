import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import HLS from 'hls-parser';
import { ffmpegPath, run } from '@segmint/media';
import { openDatabase, type Database } from '../orchestrator/src/db/database.js';
import { api, spawnWorker, startTestOrchestrator, stopProcess, waitFor, type TestOrchestrator } from './helpers.js';

// Assets (VOD) the way an integrator uses them: upload or import a file, wait for ready, play it.
let db: Database;
let orch: TestOrchestrator;
let worker: ChildProcess;
let dir: string;
let mp4: Buffer;
let webm: Buffer;
let files: Server;
let filesUrl: string;
const low = [{ name: 'low', width: 320, height: 180, bitrate: 200_000 }];
const events: { event: string; asset: { id: string } }[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'segmint-assets-'));
  const src = ['-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', '6'];
  const [database] = await Promise.all([
    openDatabase(),
    run(ffmpegPath(), ['-hide_banner', '-loglevel', 'error', '-y', ...src, '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '60', '-c:a', 'aac', '-shortest', join(dir, 'in.mp4')], { timeoutMs: 60_000 }),
    run(ffmpegPath(), ['-hide_banner', '-loglevel', 'error', '-y', ...src.slice(0, 4), '-t', '4', '-c:v', 'libvpx', '-deadline', 'realtime', '-b:v', '500k', '-an', join(dir, 'in.webm')], { timeoutMs: 60_000 }),
  ]);
  db = database;
  [mp4, webm] = await Promise.all([readFile(join(dir, 'in.mp4')), readFile(join(dir, 'in.webm'))]);
  // a web server to import from, and a webhook receiver
  files = createServer((req, res) => {
    if (req.method === 'POST') {
      let b = '';
      req.on('data', (c) => (b += c));
      req.on('end', () => {
        events.push(JSON.parse(b));
        res.writeHead(204).end();
      });
      return;
    }
    if (req.url === '/in.webm') return void res.writeHead(200, { 'content-type': 'video/webm' }).end(webm);
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => files.listen(0, '127.0.0.1', r));
  filesUrl = `http://127.0.0.1:${(files.address() as { port: number }).port}`;
  orch = await startTestOrchestrator(db, { SEGMINT_MAX_ASSET_BYTES: String(20 * 1024 * 1024) });
  worker = spawnWorker(orch, ['--concurrency', '2']);
  expect((await api(orch, 'POST', '/api/webhook', { name: 'assets', url: `${filesUrl}/hooks`, events: ['asset.created', 'asset.ready', 'asset.failed'] })).status).toBe(200);
}, 120_000);
afterAll(async () => {
  await stopProcess(worker);
  await orch?.stop();
  files?.closeAllConnections();
  await new Promise((r) => files?.close(r));
  await db?.close();
  await rm(dir, { recursive: true, force: true });
}, 60_000);

const ready = (id: string) =>
  waitFor(`asset ${id} done`, async () => {
    const a = (await api(orch, 'GET', `/api/asset/${id}`)).json;
    return a.status.phase === 'ready' || a.status.phase === 'failed' ? a : null;
  }, 120_000, 250);

describe('assets', () => {
  it('direct upload: request a URL, PUT the file, watch progress, play the VOD ladder, delete it', async () => {
    const req = await api(orch, 'POST', '/api/asset/request-upload', { name: 'clip', profiles: low });
    expect(req.status).toBe(200);
    expect(req.json).toMatchObject({ url: expect.stringContaining('/api/asset/upload/direct?token='), asset: { name: 'clip', status: { phase: 'waiting' } } });
    const id = req.json.asset.id;
    const put = await fetch(req.json.url, { method: 'PUT', headers: { 'content-type': 'video/mp4' }, body: new Uint8Array(mp4) });
    expect(put.status).toBe(200);
    // the token works once
    const again = await fetch(req.json.url, { method: 'PUT', body: new Uint8Array(mp4) });
    expect(again.status).toBe(401);
    await again.arrayBuffer();

    const progress = new Set<number>();
    const done = await waitFor('ready', async () => {
      const a = (await api(orch, 'GET', `/api/asset/${id}`)).json;
      if (a.status.phase === 'processing') progress.add(a.status.progress);
      return a.status.phase === 'ready' || a.status.phase === 'failed' ? a : null;
    }, 120_000, 100);
    expect(done.status).toMatchObject({ phase: 'ready', progress: 1 });
    expect(done.videoSpec.duration).toBeCloseTo(6, 0);
    expect(done.size).toBe(mp4.length);
    for (const p of progress) expect(p).toBeGreaterThanOrEqual(0);

    const master = HLS.parse(await (await fetch(done.playbackUrl)).text()) as HLS.types.MasterPlaylist;
    expect(master.variants.map((v) => v.uri).sort()).toEqual(['low/index.m3u8', 'source/index.m3u8']);
    const media = HLS.parse(await (await fetch(done.playbackUrl.replace('index.m3u8', 'low/index.m3u8'))).text()) as HLS.types.MediaPlaylist;
    expect(media.playlistType).toBe('VOD');
    expect(media.endlist).toBe(true);
    expect(media.segments.map((s) => s.uri)).toEqual(['0.ts', '1.ts', '2.ts']);
    const seg = await fetch(done.playbackUrl.replace('index.m3u8', 'low/2.ts'));
    expect(seg.status).toBe(200);
    expect(seg.headers.get('content-type')).toBe('video/mp2t');
    expect((await seg.arrayBuffer()).byteLength).toBeGreaterThan(0);
    expect((await api(orch, 'GET', `/api/playback/${done.playbackId}`)).json).toMatchObject({ type: 'vod', meta: { source: [{ url: done.playbackUrl }], watchUrl: `${orch.url}/watch/${done.playbackId}` } });
    const watch = await fetch(`${orch.url}/watch/${done.playbackId}`);
    expect(watch.status).toBe(200);
    expect(await watch.text()).toContain(`/vod/${done.playbackId}/index.m3u8`);

    await waitFor('asset.ready webhook', async () => events.some((e) => e.event === 'asset.ready' && e.asset.id === id), 30_000);
    expect(events.some((e) => e.event === 'asset.created' && e.asset.id === id)).toBe(true);

    expect((await api(orch, 'GET', '/api/asset')).json.map((a: { id: string }) => a.id)).toContain(id);
    expect((await api(orch, 'PATCH', `/api/asset/${id}`, { name: 'renamed' })).json.name).toBe('renamed');
    const stranger = { ...orch, apiKey: (await orch.apiKeys.create('stranger')).token };
    expect((await api(stranger, 'GET', `/api/asset/${id}`)).json.error.code).toBe('ASSET_NOT_FOUND');
    expect((await api(stranger, 'DELETE', `/api/asset/${id}`)).json.error.code).toBe('ASSET_NOT_FOUND');
    expect((await api(orch, 'DELETE', `/api/asset/${id}`)).status).toBe(204);
    expect(existsSync(join(orch.dataDir, 'segments', 'assets', id))).toBe(false);
    const gone = await fetch(done.playbackUrl);
    expect(gone.status).toBe(404);
    await gone.arrayBuffer();
  }, 180_000);

  it('tus: creates a resumable upload with the tusEndpoint, resumes it from the offset HEAD reports, then processes it', async () => {
    const { json: req } = await api(orch, 'POST', '/api/asset/request-upload', { name: 'resumable', profiles: low });
    expect(req.tusEndpoint).toMatch(/\/api\/asset\/upload\/tus\?token=/);
    const tus = { 'tus-resumable': '1.0.0' };
    const created = await fetch(req.tusEndpoint, { method: 'POST', headers: { ...tus, 'upload-length': String(mp4.length), 'upload-metadata': `filename ${Buffer.from('in.mp4').toString('base64')}` } });
    expect(created.status).toBe(201);
    const location = created.headers.get('location')!;
    expect(location).toMatch(new RegExp(`^${orch.url}/api/asset/upload/tus/[0-9a-f]+$`));
    expect((await api(orch, 'GET', `/api/asset/${req.asset.id}`)).json.status.phase).toBe('uploading');
    // the token is spent: a second creation is refused (our error shape)
    const again = await fetch(req.tusEndpoint, { method: 'POST', headers: { ...tus, 'upload-length': '10' } });
    expect(again.status).toBe(401);
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');

    // the first part, then the connection is "lost": HEAD says where to go on
    const half = Math.floor(mp4.length / 2);
    const part = (offset: number, bytes: Buffer) =>
      fetch(location, { method: 'PATCH', headers: { ...tus, 'upload-offset': String(offset), 'content-type': 'application/offset+octet-stream' }, body: new Uint8Array(bytes) });
    expect((await part(0, mp4.subarray(0, half))).status).toBe(204);
    const head = await fetch(location, { method: 'HEAD', headers: tus });
    expect([head.status, head.headers.get('upload-offset'), head.headers.get('upload-length')]).toEqual([200, String(half), String(mp4.length)]);
    expect((await part(half + 1, mp4.subarray(half + 1))).status).toBe(409); // a wrong offset is refused
    const last = await part(half, mp4.subarray(half));
    expect([last.status, last.headers.get('upload-offset')]).toEqual([204, String(mp4.length)]);

    const done = await ready(req.asset.id);
    expect(done.status.phase).toBe('ready');
    expect(done.size).toBe(mp4.length);
    const media = HLS.parse(await (await fetch(done.playbackUrl.replace('index.m3u8', 'low/index.m3u8'))).text()) as HLS.types.MediaPlaylist;
    expect(media.segments.length).toBe(3);
    expect(existsSync(join(orch.dataDir, 'asset-tus', location.split('/').pop()!))).toBe(false);
  }, 180_000);

  it('imports from a URL and re-encodes a video that is not H.264 (VP8 WebM)', async () => {
    const res = await api(orch, 'POST', '/api/asset/upload/url', { name: 'web', url: `${filesUrl}/in.webm`, profiles: low });
    expect(res.status).toBe(201);
    const done = await ready(res.json.asset.id);
    expect(done.status.phase).toBe('ready');
    expect(done.source).toEqual({ type: 'url', url: `${filesUrl}/in.webm` });
    const media = HLS.parse(await (await fetch(done.playbackUrl.replace('index.m3u8', 'low/index.m3u8'))).text()) as HLS.types.MediaPlaylist;
    expect(media.segments).toHaveLength(2);
  }, 180_000);

  it('a file that is not a video fails with a message (and asset.failed); a missing URL too', async () => {
    const { json } = await api(orch, 'POST', '/api/asset/request-upload', { name: 'junk' });
    expect((await fetch(json.url, { method: 'PUT', body: 'definitely not a video' })).status).toBe(200);
    const failed = await ready(json.asset.id);
    expect(failed.status).toMatchObject({ phase: 'failed', errorMessage: expect.stringContaining('could not read the video') });
    await waitFor('asset.failed webhook', async () => events.some((e) => e.event === 'asset.failed' && e.asset.id === json.asset.id), 30_000);

    const missing = await api(orch, 'POST', '/api/asset/upload/url', { name: 'gone', url: `${filesUrl}/nope.mp4` });
    expect((await ready(missing.json.asset.id)).status).toMatchObject({ phase: 'failed', errorMessage: expect.stringContaining('HTTP 404') });
  }, 120_000);

  it.each([
    ['request-upload without a name', '/api/asset/request-upload', {}],
    ['request-upload with an unknown field', '/api/asset/request-upload', { name: 'x', storage: 'ipfs' }],
    ['import of a non-http URL', '/api/asset/upload/url', { name: 'x', url: 'file:///etc/passwd' }],
  ])('%s → 400 VALIDATION_FAILED', async (_what, path, body) => {
    const { status, json } = await api(orch, 'POST', path, body);
    expect({ status, code: json.error.code }).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
  });

  it('an upload over the size limit is 413; a bad token 401', async () => {
    const { json } = await api(orch, 'POST', '/api/asset/request-upload', { name: 'big' });
    const big = await fetch(json.url, { method: 'PUT', body: new Uint8Array(21 * 1024 * 1024) });
    expect(big.status).toBe(413);
    expect(((await big.json()) as { error: { code: string } }).error.code).toBe('PAYLOAD_TOO_LARGE');
    const bad = await fetch(`${orch.url}/api/asset/upload/direct?token=nope`, { method: 'PUT', body: 'x' });
    expect(bad.status).toBe(401);
  });
});
