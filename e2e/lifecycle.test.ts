import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import HLS from 'hls-parser';
import { ffmpegPath, generateSegments } from '@segmint/media';
import { openDatabase, type Database } from '../orchestrator/src/db/database.js';
import { api, spawnWorker, startTestOrchestrator, stopProcess, waitFor, type TestOrchestrator } from './helpers.js';

// The worker's ffmpeg is wrapped so that it fails on exactly one segment (a "poisoned" source):
// that segment fails every attempt and must be skipped without holding up the others.
const WRAPPER = `#!/bin/bash
tmp=$(mktemp); cat > "$tmp"
if cmp -s "$tmp" "$POISON"; then rm -f "$tmp"; echo "poisoned segment" >&2; exit 1; fi
args=(); for a in "$@"; do [ "$a" = pipe:0 ] && a="$tmp"; args+=("$a"); done
"$REAL_FFMPEG" "\${args[@]}"; rc=$?; rm -f "$tmp"; exit $rc
`;

let db: Database;
let orch: TestOrchestrator;
let worker: ChildProcess;
let dir: string;
let segments: string[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'segmint-life-'));
  [db, segments] = await Promise.all([openDatabase(), generateSegments({ dir, count: 5, width: 640, height: 360 })]);
  await writeFile(join(dir, 'ffmpeg.sh'), WRAPPER);
  await chmod(join(dir, 'ffmpeg.sh'), 0o755);
  await copyFile(segments[1]!, join(dir, 'poison.ts'));
  orch = await startTestOrchestrator(db, {
    SEGMINT_IDLE_TIMEOUT: '3', SEGMINT_HLS_WINDOW: '2', SEGMINT_HLS_RETAIN: '1', SEGMINT_JOB_ATTEMPTS: '2',
  });
  worker = spawnWorker(orch, ['--concurrency', '1'], {
    FFMPEG_PATH: join(dir, 'ffmpeg.sh'), REAL_FFMPEG: ffmpegPath(), POISON: join(dir, 'poison.ts'), LOG_LEVEL: 'error',
  });
}, 120_000);
afterAll(async () => {
  await stopProcess(worker);
  await orch?.stop();
  await db?.close();
  await rm(dir, { recursive: true, force: true });
});

const media = async (url: string) => HLS.parse(await (await fetch(url)).text()) as HLS.types.MediaPlaylist;

describe('stream lifecycle', () => {
  it('skips a segment that fails every attempt, slides the window, deletes old segments, ends when idle', async () => {
    const { json: stream } = await api(orch, 'POST', '/api/stream', { name: 'life', profiles: [{ name: 'low', width: 320, height: 180, bitrate: 200_000 }] });
    for (const [seq, file] of segments.entries()) {
      const res = await fetch(`${orch.url}/live/${stream.streamKey}/${seq}.ts`, { method: 'PUT', headers: { 'content-type': 'video/mp2t' }, body: new Uint8Array(await readFile(file)) });
      expect(res.status).toBe(200);
    }
    const url = `${orch.url}/hls/${stream.playbackId}/low/index.m3u8`;
    const live = await waitFor('seq 4 published', async () => {
      const pl = await media(url);
      return pl.segments.at(-1)?.uri === '1_4.ts' ? pl : null;
    }, 90_000);
    // published: 0, 2 (discontinuity: 1 was skipped), 3, 4; window of 2 → [3, 4]
    expect(live.segments.map((s) => s.uri)).toEqual(['1_3.ts', '1_4.ts']);
    expect(live.mediaSequenceBase).toBe(2);
    expect(live.discontinuitySequenceBase).toBe(1);
    const metrics = await (await fetch(`${orch.url}/metrics`)).text();
    expect(metrics).toMatch(/segmint_jobs_failed_total 1/);
    expect(metrics).toMatch(/segmint_segments_published_total 4/);

    // retention: window 2 + retain 1 → seq 0 is gone from disk and from HTTP; seq 2 is still served
    const onDisk = (seq: number) => join(orch.dataDir, 'segments', stream.id, 'low', `1_${seq}.ts`);
    expect(existsSync(onDisk(0))).toBe(false);
    expect(existsSync(join(orch.dataDir, 'segments', stream.id, 'source', '1_0.ts'))).toBe(false);
    expect(existsSync(onDisk(2))).toBe(true);
    expect((await fetch(`${orch.url}/hls/${stream.playbackId}/low/1_0.ts`)).status).toBe(404);
    expect((await fetch(`${orch.url}/hls/${stream.playbackId}/low/1_2.ts`)).status).toBe(200);

    // idle for SEGMINT_IDLE_TIMEOUT → the session ends: ENDLIST, same window, stream inactive
    const ended = await waitFor('ENDLIST', async () => {
      const pl = await media(url);
      return pl.endlist ? pl : null;
    }, 20_000);
    expect(ended.segments.map((s) => s.uri)).toEqual(['1_3.ts', '1_4.ts']);
    expect(ended.mediaSequenceBase).toBe(2);
    expect((await api(orch, 'GET', `/api/stream/${stream.id}`)).json.isActive).toBe(false);

    // pushing again starts a new session on the same playback URL, after a discontinuity
    const again = await fetch(`${orch.url}/live/${stream.streamKey}/0.ts`, { method: 'PUT', headers: { 'content-type': 'video/mp2t' }, body: new Uint8Array(await readFile(segments[0]!)) });
    expect(again.status).toBe(200);
    const resumed = await waitFor('session 2 segment', async () => {
      const pl = await media(url);
      return pl.segments.at(-1)?.uri === '2_0.ts' ? pl : null;
    }, 60_000);
    expect(resumed.endlist).toBe(false);
    expect(resumed.segments.map((s) => [s.uri, Boolean(s.discontinuity)])).toEqual([['1_4.ts', false], ['2_0.ts', true]]);
    expect((await api(orch, 'GET', `/api/stream/${stream.id}`)).json.isActive).toBe(true);
  }, 180_000);
});
