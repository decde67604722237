import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commitmentEntries } from '@segmint/protocol';
import { ffmpegPath, run, segmentFacts, transcodeSegment } from '@segmint/media';
import { openDatabase, type Database } from '../orchestrator/src/db/database.js';
import { api, spawnWorker, startTestOrchestrator, stopProcess, testWorker, waitFor, type TestOrchestrator } from './helpers.js';
import { exitOf } from './rtmpPublish.js';

// What a streamer's encoder does to timestamps, made with ffmpeg filters on the test source and
// kept as they are (-vsync passthrough), cut into 2 s MPEG-TS segments like a push client does.
const SOURCES: Record<string, { rate: string; vf: string; bframes: number }> = {
  'drops': { rate: '30', vf: "select='gt(random(0),0.1)'", bframes: 2 },
  'jitter ±20 ms': { rate: '30', vf: "setpts='PTS+(random(0)-0.5)*0.04/TB'", bframes: 2 },
  'jitter ±40 ms, bunched': { rate: '30', vf: "setpts='PTS+(random(0)-0.5)*0.08/TB'", bframes: 0 },
  'repeated timestamps': { rate: '30', vf: "setpts='if(eq(mod(N,7),3),PREV_OUTPTS,PTS)'", bframes: 0 },
  'out of order': { rate: '30', vf: "setpts='PTS+if(eq(mod(N,10),4),0.045,0)/TB'", bframes: 0 },
  '29.97 fps, B-frames, drops and jitter': { rate: '30000/1001', vf: "select='gt(random(0),0.1)',setpts='PTS+(random(1)-0.5)*0.04/TB'", bframes: 3 },
  '60 fps, drops and jitter': { rate: '60', vf: "select='gt(random(0),0.1)',setpts='PTS+(random(1)-0.5)*0.02/TB'", bframes: 2 },
};
// Two small renditions: one at the source's rate (every frame kept), one resampled by the fps filter.
const LADDER = [
  { name: 'full', width: 256, height: 144, bitrate: 200_000, fps: 60 },
  { name: 'half', width: 256, height: 144, bitrate: 150_000, fps: 15 },
];

let db: Database;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'segmint-real-encoders-'));
  db = await openDatabase();
});
afterAll(async () => {
  await db?.close();
  await rm(dir, { recursive: true, force: true });
});

/** 3 segments (6 s) of the test source with `vf` applied to its timestamps. */
async function makeSource(name: string, s: { rate: string; vf: string; bframes: number }): Promise<Buffer[]> {
  const out = join(dir, name.replace(/\W+/g, '-'));
  await mkdir(out, { recursive: true });
  const gop = s.rate === '60' ? '120' : '60';
  await run(ffmpegPath(), [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', `testsrc2=size=320x180:rate=${s.rate}`, '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', '6',
    '-vf', s.vf, '-vsync', 'passthrough',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-bf', String(s.bframes), '-g', gop, '-keyint_min', gop, '-sc_threshold', '0',
    '-c:a', 'aac', '-ac', '2',
    '-f', 'segment', '-segment_time', '2', '-segment_format', 'mpegts', '-reset_timestamps', '0', join(out, '%d.ts'),
  ], { timeoutMs: 60_000 });
  const files = (await readdir(out)).filter((f) => /^\d+\.ts$/.test(f)).sort((a, b) => parseInt(a) - parseInt(b));
  return Promise.all(files.map((f) => readFile(join(out, f))));
}

/** A bounded busy loop on one core: a loaded machine, as the issue measured it. */
function burnCpu(seconds: number): ChildProcess {
  return spawn(process.execPath, ['-e', `const end = Date.now() + ${seconds * 1000}; while (Date.now() < end);`], { stdio: 'ignore' });
}

/** gst-launch publishing 720p30 live H.264 (B-frames) + AAC through `sink` (rtmpsink: librtmp; rtmp2sink). */
function gstPublish(sink: 'rtmpsink' | 'rtmp2sink', port: number, key: string, seconds: number): ChildProcess & { err: () => string } {
  const url = `rtmp://127.0.0.1:${port}/live/${key}`;
  const child = spawn('gst-launch-1.0', [
    '-e',
    'videotestsrc', 'is-live=true', 'pattern=ball', `num-buffers=${seconds * 30}`, '!', 'video/x-raw,width=1280,height=720,framerate=30/1', '!',
    'x264enc', 'speed-preset=ultrafast', 'tune=zerolatency', 'key-int-max=60', 'bframes=2', 'bitrate=1500', '!', 'h264parse', '!', 'queue', '!', 'mux.',
    'audiotestsrc', 'is-live=true', `num-buffers=${Math.ceil((seconds * 48_000) / 1024)}`, 'samplesperbuffer=1024', '!',
    'audio/x-raw,rate=48000,channels=2', '!', 'audioconvert', '!', 'voaacenc', '!', 'aacparse', '!', 'queue', '!', 'mux.',
    'flvmux', 'name=mux', 'streamable=true', '!', sink, `location=${sink === 'rtmpsink' ? `${url} live=1` : url}`,
  ], { stdio: ['ignore', 'ignore', 'pipe'] }) as ChildProcess & { err: () => string };
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  child.err = () => err;
  return child;
}

async function metric(orch: TestOrchestrator, name: string): Promise<number> {
  const text = await (await fetch(`${orch.url}/metrics`)).text();
  return text.split('\n').filter((l) => l.startsWith(name)).reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}

describe('real encoders never cost a segment', () => {
  let orch: TestOrchestrator;
  let worker: ChildProcess;
  afterAll(async () => {
    await stopProcess(worker);
    await orch?.stop();
  });

  it('drops, jitter, repeated and out-of-order timestamps, 29.97 fps, B-frames, GStreamer rtmpsink and rtmp2sink under CPU load: every segment published, no honest result refused', async () => {
    const sources = await Promise.all(Object.entries(SOURCES).map(async ([name, s]) => [name, await makeSource(name, s)] as const));
    // Generous deadlines: the machine is loaded on purpose; a late result is not what is tested.
    orch = await startTestOrchestrator(db, { SEGMINT_IDLE_TIMEOUT: '600', SEGMINT_DEADLINE_FACTOR: '30', SEGMINT_SPOTCHECK_RATE: '0' });
    worker = spawnWorker(orch, ['--concurrency', '2']);
    const create = async (name: string) => (await api(orch, 'POST', '/api/stream', { name, profiles: LADDER })).json as { streamKey: string };

    const load = [burnCpu(90), burnCpu(90)];
    try {
      const gst = await Promise.all((['rtmpsink', 'rtmp2sink'] as const).map(async (sink) => gstPublish(sink, orch.rtmp!.port, (await create(sink)).streamKey, 8)));
      let pushed = 0;
      for (const [name, segments] of sources) {
        const { streamKey } = await create(name);
        for (const [seq, body] of segments.entries()) {
          const res = await fetch(`${orch.url}/live/${streamKey}/${seq}.ts`, { method: 'PUT', headers: { 'content-type': 'video/mp2t' }, body: new Uint8Array(body) });
          expect(res.status).toBe(200);
          pushed++;
        }
      }
      for (const g of gst) {
        const code = await exitOf(g);
        if (code !== 0) throw new Error(`gst-launch-1.0 exited ${code}: ${g.err()}`);
      }
      // 2 publishers × 8 s cut on ~2 s keyframes: 4 segments each, 3 when a late keyframe makes one 4 s.
      const rtmpIngested = () => metric(orch, 'segmint_segments_ingested_total{source="rtmp"}');
      await waitFor('RTMP segments ingested', async () => (await rtmpIngested()) >= 6, 60_000);
      await new Promise((r) => setTimeout(r, 3000)); // the last segment of each is cut when its publisher leaves
      const rtmp = await rtmpIngested();
      expect(rtmp).toBeLessThanOrEqual(8);
      expect(await metric(orch, 'segmint_segments_ingested_total{source="http"}')).toBe(pushed);
      // Ends early on the first refused or failed result: that alone fails the test.
      await waitFor('every ingested segment published (or a result refused)', async () =>
        (await metric(orch, 'segmint_segments_published_total')) === pushed + rtmp || (await metric(orch, 'segmint_worker_failures_total')) > 0, 150_000, 500);
    } finally {
      load.forEach((c) => c.kill('SIGKILL'));
    }
    expect(await metric(orch, 'segmint_checks_failed_total')).toBe(0);
    expect(await metric(orch, 'segmint_segments_published_total')).toBe(await metric(orch, 'segmint_segments_ingested_total'));
    expect(await metric(orch, 'segmint_worker_failures_total')).toBe(0);
    expect(await metric(orch, 'segmint_jobs_failed_total')).toBe(0);
  }, 240_000);
});

describe('a result that really drops or adds a frame is still refused', () => {
  it('a frame removed from or repeated in the honest rendition of a jittery source → 422 CHECK_FAILED (frames); the honest one is accepted', async () => {
    const orch = await startTestOrchestrator(db, { SEGMINT_DEADLINE_FACTOR: '60', SEGMINT_SPOTCHECK_RATE: '0' });
    const workers = [await testWorker(orch, { pricePerPixel: 100n }), await testWorker(orch, { pricePerPixel: 200n })];
    try {
      const segments = await makeSource('cheat', SOURCES['jitter ±40 ms, bunched']!);
      const profile = LADDER[0]!;
      const stream = (await api(orch, 'POST', '/api/stream', { name: 'cheat', profiles: [profile] })).json as { id: string; streamKey: string };

      /** The honest rendition of segment `seq`, and re-encodes of it with frame 10 removed or repeated. */
      const renditionsOf = async (seq: number) => {
        const src = join(dir, `cheat-${seq}.ts`);
        await writeFile(src, segments[seq]!);
        const out = await mkdtemp(join(dir, 'honest-'));
        const honest = (await transcodeSegment({ input: src, source: segmentFacts(segments[seq]!), profiles: [profile], outDir: out })).renditions[0]!;
        const tamper = async (file: string, vf: string) => {
          await run(ffmpegPath(), ['-hide_banner', '-loglevel', 'error', '-y', '-copyts', '-i', honest.path, '-map', '0', '-vf', vf, '-vsync', 'passthrough', '-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'copy', '-muxdelay', '0', '-f', 'mpegts', join(out, file)], { timeoutMs: 60_000 });
          return readFile(join(out, file));
        };
        return { honest: honest.data, dropped: await tamper('dropped.ts', "select='not(eq(n\\,10))'"), repeated: await tamper('repeated.ts', 'loop=loop=1:size=1:start=10') };
      };
      const answer = async (w: (typeof workers)[number], jobId: string, job: { token: string; resultUrl: string }, bytes: Buffer) => {
        const auth = { authorization: `Bearer ${job.token}` };
        const facts = segmentFacts(bytes);
        const claim = { name: profile.name, sha256: facts.videoSha256, ...(facts.audio ? { audioSha256: facts.audio.sha256 } : {}), width: facts.width, height: facts.height, frames: facts.frames, durationSec: facts.durationSec, bytes: bytes.length };
        expect((await fetch(`${job.resultUrl}/${profile.name}.ts`, { method: 'PUT', headers: { ...auth, 'content-type': 'video/mp2t' }, body: new Uint8Array(bytes) })).status).toBe(204);
        const body = { renditions: [claim], encoderFingerprint: 'test', workerId: w.address, transcodeMs: 1, commitment: await w.client.commit(jobId, commitmentEntries([claim], 'test')) };
        const res = await fetch(job.resultUrl, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });
        return { status: res.status, body: (await res.json()) as { status?: string; error?: { code: string; message: string } } };
      };
      /** The worker (other than `not`) whose queue holds `jobId`, and the job. */
      const jobOf = async (jobId: string, not?: string) => {
        const w = await waitFor(`${jobId} on a worker`, async () => (await Promise.all(workers.map(async (x) => x.address !== not && (await x.hasJob(jobId)) && x))).find(Boolean) || null);
        return { w, jobId, job: await w.job(jobId) };
      };
      const push = (seq: number) => fetch(`${orch.url}/live/${stream.streamKey}/${seq}.ts`, { method: 'PUT', headers: { 'content-type': 'video/mp2t' }, body: new Uint8Array(segments[seq]!) });

      for (const [seq, cheat] of [[0, 'dropped'], [1, 'repeated']] as const) {
        const r = await renditionsOf(seq);
        const want = segmentFacts(r.honest).frames;
        expect(want).toBe(segmentFacts(segments[seq]!).frames); // honest: every source frame
        const got = segmentFacts(r[cheat]).frames;
        expect(got).toBe(cheat === 'dropped' ? want - 1 : want + 1);
        expect((await push(seq)).status).toBe(200);
        const first = await jobOf(`${stream.id}.1.${seq}`);
        const refused = await answer(first.w, first.jobId, first.job, r[cheat]);
        expect(refused.status).toBe(422);
        expect(refused.body.error).toMatchObject({ code: 'CHECK_FAILED', message: expect.stringContaining(`${got} frames, want ${want}`) });
        // re-auctioned to the other worker, whose honest rendition passes
        const retry = await jobOf(first.jobId, first.w.address);
        expect(await answer(retry.w, retry.jobId, retry.job, r.honest)).toMatchObject({ status: 200, body: { status: 'accepted' } });
      }
      expect(await metric(orch, 'segmint_checks_failed_total{reason="frames"}')).toBe(2);
    } finally {
      for (const w of workers) await w.stop();
      await orch.stop();
    }
  }, 120_000);
});
