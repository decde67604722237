import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import HLS from 'hls-parser';
import { generateSegments, probe, segmentFacts } from '@segmint/media';
import { openDatabase, type Database } from '../orchestrator/src/db/database.js';
import { api, spawnWorker, startTestOrchestrator, stopProcess, waitFor, type TestOrchestrator } from './helpers.js';

let db: Database;
let orch: TestOrchestrator;
let worker: ChildProcess;
let mediaDir: string;
let segments: string[];

beforeAll(async () => {
  mediaDir = await mkdtemp(join(tmpdir(), 'segmint-e2e-media-'));
  [db, segments] = await Promise.all([
    openDatabase(),
    generateSegments({ dir: mediaDir, count: 6, width: 1280, height: 720, fps: 30 }),
  ]);
  // The test ends the stream itself; a loaded machine must not idle it out first.
  orch = await startTestOrchestrator(db, { SEGMINT_IDLE_TIMEOUT: '600' });
  worker = spawnWorker(orch, ['--concurrency', '2']);
}, 120_000);

afterAll(async () => {
  await stopProcess(worker);
  await orch?.stop();
  await db?.close();
  await rm(mediaDir, { recursive: true, force: true });
});

const push = (key: string, seq: number, body: Buffer, type = 'video/mp2t') =>
  fetch(`${orch.url}/live/${key}/${seq}.ts`, { method: 'PUT', headers: { 'content-type': type }, body: new Uint8Array(body) });

async function playlist(url: string) {
  const res = await fetch(url);
  if (res.status !== 200) return null;
  return HLS.parse(await res.text());
}

describe('live pipeline: push → queue → worker ladder → HLS', () => {
  it('creates a stream, transcodes 6 pushed segments and serves a valid ABR ladder', async () => {
    const created = await api(orch, 'POST', '/api/stream', { name: 'e2e' });
    expect(created.status).toBe(201);
    const stream = created.json;
    expect(stream).toMatchObject({ name: 'e2e', isActive: false });
    expect(stream.streamKey).toMatch(/^[a-z0-9]{4}(-[a-z0-9]{4}){3}$/);
    expect(stream.profiles.map((p: { name: string }) => p.name)).toEqual(['240p0', '360p0', '480p0', '720p0']);

    for (const [seq, file] of segments.entries()) {
      const res = await push(stream.streamKey, seq, await readFile(file));
      expect(res.status).toBe(200);
    }

    const base = `${orch.url}/hls/${stream.playbackId}`;
    const renditions = ['240p0', '360p0', '480p0', '720p0', 'source'];
    for (const r of renditions) {
      await waitFor(`${r} playlist with 6 segments`, async () => {
        const pl = await playlist(`${base}/${r}/index.m3u8`);
        return pl && (pl as HLS.types.MediaPlaylist).segments.length === 6;
      }, 90_000);
    }

    const master = (await playlist(`${base}/index.m3u8`)) as HLS.types.MasterPlaylist;
    expect(master.isMasterPlaylist).toBe(true);
    const variants = master.variants.map((v) => ({
      uri: v.uri, res: `${v.resolution?.width}x${v.resolution?.height}`, bw: v.bandwidth, avg: v.averageBandwidth, codecs: v.codecs, fps: v.frameRate,
    }));
    expect(variants.map((v) => [v.uri, v.res])).toEqual([
      ['240p0/index.m3u8', '426x240'], ['360p0/index.m3u8', '640x360'], ['480p0/index.m3u8', '854x480'],
      ['720p0/index.m3u8', '1280x720'], ['source/index.m3u8', '1280x720'],
    ]);
    for (const v of variants) {
      expect(v.bw).toBeGreaterThan(0);
      expect(v.avg).toBeGreaterThan(0);
      expect(v.avg!).toBeLessThanOrEqual(v.bw);
      expect(v.codecs).toMatch(/^avc1\.[0-9a-f]{6},mp4a\.40\.2$/);
      expect(v.fps).toBeCloseTo(30, 2);
    }

    for (const r of renditions) {
      const media = (await playlist(`${base}/${r}/index.m3u8`)) as HLS.types.MediaPlaylist;
      expect(media.mediaSequenceBase).toBe(0);
      expect(media.targetDuration).toBeGreaterThanOrEqual(2);
      expect(media.endlist).toBe(false);
      expect(media.segments.some((s) => s.discontinuity)).toBe(false);
      for (const [i, seg] of media.segments.entries()) {
        const source = segmentFacts(await readFile(segments[i]!));
        expect(Math.abs(seg.duration - source.durationSec)).toBeLessThanOrEqual(1 / 30);
        const body = Buffer.from(await (await fetch(`${base}/${r}/${seg.uri}`)).arrayBuffer());
        const file = join(mediaDir, `check-${r}-${i}.ts`);
        await writeFile(file, body);
        const probed = await probe(file);
        expect(probed.video?.codec).toBe('h264');
        expect(probed.audio?.codec).toBe('aac');
        const want = variants.find((v) => v.uri === `${r}/index.m3u8`)!.res;
        expect(`${probed.video?.width}x${probed.video?.height}`).toBe(want);
        expect(Math.abs(probed.video!.durationSec! - source.durationSec)).toBeLessThanOrEqual(1 / 30 + 1e-6);
      }
    }

    const got = await api(orch, 'GET', `/api/stream/${stream.id}`);
    expect(got.json).toMatchObject({ id: stream.id, isActive: true });
    expect(got.json.lastSeen).toBeGreaterThan(stream.createdAt);

    expect((await fetch(`${orch.url}/healthz`)).status).toBe(200);
    const metrics = await (await fetch(`${orch.url}/metrics`)).text();
    expect(metrics).toMatch(/segmint_segments_ingested_total\{source="http"\} 6/);
    expect(metrics).toMatch(/segmint_segments_published_total 6/);
    expect(metrics).toMatch(/segmint_segment_transcode_seconds_count 6/);

    // Explicit end → EXT-X-ENDLIST
    expect((await api(orch, 'DELETE', `/api/stream/${stream.id}/terminate`)).status).toBe(204);
    const ended = (await playlist(`${base}/720p0/index.m3u8`)) as HLS.types.MediaPlaylist;
    expect(ended.endlist).toBe(true);
    expect((await api(orch, 'GET', `/api/stream/${stream.id}`)).json.isActive).toBe(false);
  }, 180_000);

  it('marks a discontinuity where seq jumps', async () => {
    const { json: stream } = await api(orch, 'POST', '/api/stream', { name: 'gap', profiles: [{ name: 'low', width: 320, height: 180, bitrate: 200_000 }] });
    for (const seq of [0, 1, 3]) expect((await push(stream.streamKey, seq, await readFile(segments[seq]!))).status).toBe(200);
    const media = await waitFor('3 segments', async () => {
      const pl = (await playlist(`${orch.url}/hls/${stream.playbackId}/low/index.m3u8`)) as HLS.types.MediaPlaylist | null;
      return pl && pl.segments.length === 3 ? pl : null;
    }, 60_000);
    expect(media.segments.map((s) => Boolean(s.discontinuity))).toEqual([false, false, true]);
    expect(media.segments.map((s) => s.uri)).toEqual(['1_0.ts', '1_1.ts', '1_3.ts']);
  }, 120_000);
});
