import type { ChildProcess } from 'node:child_process';
import HLS from 'hls-parser';
import { openDatabase, type Database } from '../orchestrator/src/db/database.js';
import { api, spawnWorker, startTestOrchestrator, stopProcess, waitFor, type TestOrchestrator } from './helpers.js';
import { exitOf, ffmpegPublish } from './rtmpPublish.js';

let db: Database;
let orch: TestOrchestrator;
let worker: ChildProcess;

beforeAll(async () => {
  db = await openDatabase();
  // a short reconnect window keeps the test short; the HTTP idle timeout must not end it first
  orch = await startTestOrchestrator(db, { SEGMINT_RTMP_RECONNECT_WINDOW: '10', SEGMINT_IDLE_TIMEOUT: '2' });
  worker = spawnWorker(orch, ['--concurrency', '2']);
}, 120_000);

afterAll(async () => {
  await stopProcess(worker);
  await orch?.stop();
  await db?.close();
});

async function media(url: string): Promise<HLS.types.MediaPlaylist | null> {
  const res = await fetch(url);
  return res.status === 200 ? (HLS.parse(await res.text()) as HLS.types.MediaPlaylist) : null;
}

describe('RTMP reconnect window', () => {
  it('continues the session when the publisher comes back within the window (discontinuity), then ends it with ENDLIST', async () => {
    const created = await api(orch, 'POST', '/api/stream', { name: 'reconnect', profiles: [{ name: '240p0', width: 426, height: 240, bitrate: 250_000, fps: 30 }] });
    const stream = created.json as { id: string; streamKey: string; playbackId: string };
    const url = `${orch.url}/hls/${stream.playbackId}/source/index.m3u8`;

    expect(await exitOf(ffmpegPublish({ port: orch.rtmp!.port, key: stream.streamKey, seconds: 4 }))).toBe(0);
    const session = (await waitFor('the live session', () => orch.pipeline.live.meta(stream.id), 20_000)).session;
    // dropped for longer than SEGMINT_IDLE_TIMEOUT, shorter than the reconnect window
    await new Promise((r) => setTimeout(r, 3000));
    expect((await api(orch, 'GET', `/api/stream/${stream.id}`)).json.isActive).toBe(true);

    expect(await exitOf(ffmpegPublish({ port: orch.rtmp!.port, key: stream.streamKey, seconds: 4 }))).toBe(0);
    const pl = await waitFor('4 segments across both publishes', async () => {
      const p = await media(url);
      return p?.segments.length === 4 ? p : null;
    }, 120_000);
    expect((await orch.pipeline.live.meta(stream.id))!.session).toBe(session); // same session, same playback URL
    expect(pl.segments.map((s) => !!s.discontinuity)).toEqual([false, false, true, false]);
    // the second publish goes on at the seq after the first one's last: none missing
    expect(pl.segments.map((s) => Number(/_(\d+)(?:r\d+)?\.ts$/.exec(s.uri)?.[1]))).toEqual([0, 1, 2, 3]);
    expect(pl.endlist).toBe(false);

    // nobody comes back: after the window the session ends
    const ended = await waitFor('EXT-X-ENDLIST after the reconnect window', async () => {
      const p = await media(url);
      return p?.endlist ? p : null;
    }, 60_000);
    expect(ended.segments).toHaveLength(4);
    expect((await api(orch, 'GET', `/api/stream/${stream.id}`)).json.isActive).toBe(false);
  }, 240_000);
});
