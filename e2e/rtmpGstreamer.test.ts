import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import HLS from 'hls-parser';
import { probe } from '@segmint/media';
import { openDatabase, type Database } from '../orchestrator/src/db/database.js';
import { api, spawnWorker, startTestOrchestrator, stopProcess, waitFor, type TestOrchestrator } from './helpers.js';
import { exitOf, gstreamerPublish } from './rtmpPublish.js';

// The third publisher the RTMP issue names, besides ffmpeg and OBS: GStreamer's rtmp2sink, a
// client written apart from librtmp/ffmpeg (its own handshake, chunking and command sequence).
let db: Database;
let orch: TestOrchestrator;
let worker: ChildProcess;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'segmint-gst-'));
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

async function media(url: string): Promise<HLS.types.MediaPlaylist | null> {
  const res = await fetch(url);
  return res.status === 200 ? (HLS.parse(await res.text()) as HLS.types.MediaPlaylist) : null;
}

describe('RTMP ingest with a GStreamer publisher', () => {
  it('gst-launch rtmp2sink publishes live H.264 (B-frames) + AAC for 8 s: health, and 4 continuous ~2 s segments per rendition that probe right', async () => {
    const stream = (await api(orch, 'POST', '/api/stream', { name: 'gstreamer', profiles: [{ name: '240p0', width: 426, height: 240, bitrate: 250_000, fps: 30 }] })).json;
    const gst = gstreamerPublish({ port: orch.rtmp!.port, key: stream.streamKey, seconds: 8 });
    const health = await waitFor('ingest health', async () => {
      const got = await api(orch, 'GET', `/api/stream/${stream.id}`);
      return got.json?.isActive && got.json.ingest?.keyframeInterval ? got.json : null;
    }, 60_000);
    expect(health.ingest).toMatchObject({ protocol: 'rtmp', videoCodec: 'h264', audioCodec: 'aac', warnings: [] });
    // A live GStreamer pipeline stamps frames by the clock: on a busy machine they jitter by tens of ms.
    const JITTER = 0.1;
    expect(Math.abs(health.ingest.keyframeInterval - 2)).toBeLessThanOrEqual(2 * JITTER);
    const code = await exitOf(gst);
    if (code !== 0) throw new Error(`gst-launch-1.0 exited ${code}: ${gst.stderrText()}`);

    const base = `${orch.url}/hls/${stream.playbackId}`;
    for (const r of ['source', '240p0']) {
      await waitFor(`${r} playlist with 4 segments`, async () => (await media(`${base}/${r}/index.m3u8`))?.segments.length === 4, 120_000);
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
