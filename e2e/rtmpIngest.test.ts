import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import HLS from 'hls-parser';
import { probe } from '@segmint/media';
import { openDatabase, type Database } from '../orchestrator/src/db/database.js';
import { api, spawnWorker, startTestOrchestrator, stopProcess, waitFor, type TestOrchestrator } from './helpers.js';
import { TestRtmpClient } from './rtmpClient.js';
import { exitOf, ffmpegPublish, gstreamerPublish } from './rtmpPublish.js';

let db: Database;
let orch: TestOrchestrator;
let worker: ChildProcess;
let dir: string;
const LADDER = [{ name: '240p0', width: 426, height: 240, bitrate: 250_000, fps: 30 }];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'segmint-rtmp-e2e-'));
  db = await openDatabase();
  orch = await startTestOrchestrator(db, { SEGMINT_IDLE_TIMEOUT: '600' });
  worker = spawnWorker(orch, ['--concurrency', '2']);
}, 120_000);

afterAll(async () => {
  await stopProcess(worker);
  await orch?.stop();
  await db?.close();
  await rm(dir, { recursive: true, force: true });
});

/** Through the API, so the stream belongs to the test's key (one small rendition: the CPU is shared). */
async function createStream(name: string) {
  const created = await api(orch, 'POST', '/api/stream', { name, profiles: LADDER });
  expect(created.status).toBe(201);
  return created.json as { id: string; streamKey: string; playbackId: string };
}

async function media(url: string): Promise<HLS.types.MediaPlaylist | null> {
  const res = await fetch(url);
  return res.status === 200 ? (HLS.parse(await res.text()) as HLS.types.MediaPlaylist) : null;
}

describe('RTMP ingest with real ffmpeg publishers', () => {
  it('ffmpeg publishes 1080p30 H.264 (B-frames) + AAC for 12 s: every rendition lists 6 continuous segments that probe right', async () => {
    const stream = await createStream('rtmp-1080p');
    const port = orch.rtmp!.port;
    const ff = ffmpegPublish({ port, key: stream.streamKey, seconds: 12, width: 1920, height: 1080, bframes: 2 });

    // while publishing: GET /api/stream/:id reports ingest health
    const health = await waitFor('ingest health with a keyframe interval', async () => {
      const got = await api(orch, 'GET', `/api/stream/${stream.id}`);
      return got.json?.isActive && got.json.ingest?.keyframeInterval ? got.json : null;
    }, 60_000);
    expect(health.ingest).toMatchObject({ protocol: 'rtmp', videoCodec: 'h264', audioCodec: 'aac', warnings: [] });
    expect(health.ingest.keyframeInterval).toBeCloseTo(2, 1);
    expect(health.ingest.fps).toBeGreaterThan(20);
    expect(health.ingest.bitrate).toBeGreaterThan(100_000);

    expect(await exitOf(ff)).toBe(0);
    const base = `${orch.url}/hls/${stream.playbackId}`;
    for (const r of ['source', '240p0']) {
      await waitFor(`${r} playlist with 6 segments`, async () => (await media(`${base}/${r}/index.m3u8`))?.segments.length === 6, 120_000);
    }
    const source = (await media(`${base}/source/index.m3u8`))!;
    const low = (await media(`${base}/240p0/index.m3u8`))!;
    for (const pl of [source, low]) {
      expect(pl.mediaSequenceBase).toBe(0);
      expect(pl.segments.some((s) => s.discontinuity)).toBe(false);
    }
    const frame = 1 / 30;
    for (const [i, seg] of source.segments.entries()) {
      // cut on the 2 s keyframes: every segment is 2 s within a frame
      expect(Math.abs(seg.duration - 2)).toBeLessThanOrEqual(frame + 1e-6);
      expect(Math.abs(low.segments[i]!.duration - seg.duration)).toBeLessThanOrEqual(frame + 1e-6);
    }
    for (const [r, pl, size] of [['source', source, '1920x1080'], ['240p0', low, '426x240']] as const) {
      for (const [i, seg] of pl.segments.entries()) {
        const file = join(dir, `${r}-${i}.ts`);
        await writeFile(file, Buffer.from(await (await fetch(`${base}/${r}/${seg.uri}`)).arrayBuffer()));
        const p = await probe(file);
        expect(p.video?.codec).toBe('h264');
        expect(p.audio?.codec).toBe('aac');
        expect(`${p.video?.width}x${p.video?.height}`).toBe(size);
        expect(Math.abs(p.video!.durationSec! - seg.duration)).toBeLessThanOrEqual(frame + 1e-6);
      }
    }
    const metrics = await (await fetch(`${orch.url}/metrics`)).text();
    expect(metrics).toMatch(/segmint_segments_ingested_total\{source="rtmp"\} 6/);
  }, 240_000);

  it('answers an unknown stream key with NetStream.Publish.BadName and closes', async () => {
    const c = await TestRtmpClient.connect(orch.rtmp!.port);
    const status = await c.publish('no-such-key');
    expect(status).toMatchObject({ level: 'error', code: 'NetStream.Publish.BadName' });
    await c.closed;
  });

  it('answers a suspended stream with NetStream.Publish.BadName', async () => {
    const created = await api(orch, 'POST', '/api/stream', { name: 'suspended' });
    expect((await api(orch, 'PATCH', `/api/stream/${created.json.id}`, { suspended: true })).status).toBeLessThan(300);
    const c = await TestRtmpClient.connect(orch.rtmp!.port);
    expect(await c.publish(created.json.streamKey)).toMatchObject({ code: 'NetStream.Publish.BadName', description: 'this stream is suspended' });
    await c.closed;
  });

  it('rejects a connect to an application other than live', async () => {
    const c = await TestRtmpClient.connect(orch.rtmp!.port);
    expect(await c.publish('whatever', 'vod')).toMatchObject({ level: 'error', code: 'NetConnection.Connect.Rejected' });
    await c.closed;
  });

  it('acknowledges bytes per the window the publisher set, and answers pings', async () => {
    const c = await TestRtmpClient.connect(orch.rtmp!.port);
    const ctid = c.command(0, 'connect', { app: 'live' });
    await c.waitCommand((x) => x[0] === '_result' && x[1] === ctid);
    const win = Buffer.alloc(4);
    win.writeUInt32BE(4096);
    c.send(2, 5, 0, win); // Window Acknowledgement Size: ack me every 4096 bytes
    for (let i = 0; i < 3; i++) c.send(4, 8, 0, Buffer.alloc(4000, 0xaf)); // audio outside any publish: ignored, but counted
    c.send(2, 4, 0, Buffer.from([0, 6, 0, 0, 0x30, 0x39])); // Ping Request, timestamp 12345
    await waitFor('an Acknowledgement and a Ping Response', async () => c.messages.some((m) => m.typeId === 3) && c.messages.some((m) => m.typeId === 4), 20_000);
    expect(c.messages.find((m) => m.typeId === 3)!.payload.readUInt32BE(0)).toBeGreaterThanOrEqual(4096);
    expect(c.messages.find((m) => m.typeId === 4)!.payload).toEqual(Buffer.from([0, 7, 0, 0, 0x30, 0x39]));
    c.close();
  });

  it('refuses video that is not H.264 with NetStream.Publish.Rejected and closes', async () => {
    const stream = await createStream('rtmp-vp6');
    const c = await TestRtmpClient.connect(orch.rtmp!.port);
    expect(await c.publish(stream.streamKey)).toMatchObject({ code: 'NetStream.Publish.Start' });
    c.send(6, 9, 1, Buffer.from([0x14, 0, 0, 0, 0])); // keyframe, codec 4: VP6
    const refused = await c.waitCommand((x) => x[0] === 'onStatus' && (x[3] as { code: string }).code === 'NetStream.Publish.Rejected');
    expect((refused[3] as { description: string }).description).toMatch(/VP6 is not supported: send H\.264/);
    await c.closed;
  });

  it('refuses a second publisher on a live key while the first keeps streaming', async () => {
    const stream = await createStream('rtmp-twice');
    const ff = ffmpegPublish({ port: orch.rtmp!.port, key: stream.streamKey, seconds: 8 });
    await waitFor('first segment ingested', async () => (await orch.pipeline.live.meta(stream.id))?.lastIngestAt, 60_000);
    const second = await TestRtmpClient.connect(orch.rtmp!.port);
    expect(await second.publish(`${stream.streamKey}?token=x`)).toMatchObject({ code: 'NetStream.Publish.BadName' });
    await second.closed;
    expect(await exitOf(ff)).toBe(0); // the first publisher was never disturbed
    await waitFor('4 segments from the first publisher', async () => (await media(`${orch.url}/hls/${stream.playbackId}/source/index.m3u8`))?.segments.length === 4, 120_000);
  }, 180_000);
});

// The third publisher the RTMP issue names, besides ffmpeg and OBS: GStreamer's rtmp2sink, a
// client written apart from librtmp/ffmpeg (its own handshake, chunking and command sequence).
describe('RTMP ingest with a GStreamer publisher', () => {
  it('gst-launch rtmp2sink publishes live H.264 (B-frames) + AAC for 8 s: health, and 4 continuous ~2 s segments per rendition that probe right', async () => {
    const stream = await createStream('gstreamer');
    const gst = gstreamerPublish({ port: orch.rtmp!.port, key: stream.streamKey, seconds: 8 });
    const health = await waitFor('ingest health', async () => {
      const got = await api(orch, 'GET', `/api/stream/${stream.id}`);
      return got.json?.isActive && got.json.ingest?.keyframeInterval ? got.json : null;
    }, 60_000);
    expect(health.ingest).toMatchObject({ protocol: 'rtmp', videoCodec: 'h264', audioCodec: 'aac', warnings: [] });
    // A live GStreamer pipeline stamps frames by the clock: on a busy machine they jitter by tens of ms.
    const JITTER = 0.1;
    // The interval is measured between keyframe timestamps the loaded publisher stamped (0.208 s
    // off was seen with the whole test suite running beside it): the health must say ~2 s.
    expect(Math.abs(health.ingest.keyframeInterval - 2)).toBeLessThanOrEqual(3 * JITTER);
    const code = await exitOf(gst);
    if (code !== 0) throw new Error(`gst-launch-1.0 exited ${code}: ${gst.stderrText()}`);

    const base = `${orch.url}/hls/${stream.playbackId}`;
    for (const r of ['source', '240p0']) {
      await waitFor(`${r} playlist with 4 segments`, async () => {
        // Thrown, so a time-out says what the playlist held (waitFor reports the last error).
        const pl = await media(`${base}/${r}/index.m3u8`);
        if (pl?.segments.length !== 4) throw new Error(`it lists ${pl ? pl.segments.map((s) => `${s.uri} ${s.duration}s`).join(', ') || 'nothing' : 'no playlist'}`);
        return true;
      }, 120_000);
    }
    for (const [r, size] of [['source', '640x360'], ['240p0', '426x240']] as const) {
      const pl = (await media(`${base}/${r}/index.m3u8`))!;
      expect(pl.segments.some((s) => s.discontinuity)).toBe(false);
      let end: number | undefined;
      for (const [i, seg] of pl.segments.entries()) {
        expect(Math.abs(seg.duration - 2)).toBeLessThanOrEqual(JITTER);
        const file = join(dir, `${r}-${i}.ts`);
        await writeFile(file, Buffer.from(await (await fetch(`${base}/${r}/${seg.uri}`)).arrayBuffer()));
        const p = await probe(file);
        expect(`${p.video?.width}x${p.video?.height}`).toBe(size);
        expect(p.video?.codec).toBe('h264');
        expect(p.audio?.codec).toBe('aac');
        expect(Math.abs(p.video!.durationSec! - seg.duration)).toBeLessThanOrEqual(JITTER);
        // video timestamps run on from one segment to the next (no gap or overlap beyond the jitter)
        if (end !== undefined) expect(Math.abs(p.video!.startSec! - end)).toBeLessThanOrEqual(JITTER);
        end = p.video!.startSec! + p.video!.durationSec!;
      }
    }
  }, 180_000);
});
