/**
 * Segmint's pipeline vs raw ffmpeg on the same 2 s 1080p segment and the same ladder.
 * raw:     one ffmpeg process with the worker's exact arguments (file in, files out).
 * segmint: PUT /live/KEY/SEQ.ts → every rendition listed in its media playlist (worker process,
 *          BullMQ, HTTP fetch + uploads, orchestrator checks, in-order publish).
 * Runs interleaved; prints medians and, last, `pipeline/raw-ffmpeg ratio: X.XX`.
 * Usage: npm run bench:pipeline [-- --runs 7]
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ffmpegPath, generateSegments, run, segmentFacts } from '@segmint/media';
import { capProfiles, DEFAULT_PROFILES } from '@segmint/protocol';
import { ladderArgs } from '@segmint/media';
import { openDatabase } from '../orchestrator/src/db/database.js';
import { spawnWorker, startTestOrchestrator, stopProcess } from '../e2e/helpers.js';

const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg >= 0 ? Number(process.argv[runsArg + 1]) : 7;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main() {
  const dir = await mkdtemp(join(tmpdir(), 'segmint-bench-'));
  console.log('generating a 2 s 1920x1080 test segment…');
  const [file] = await generateSegments({ dir, count: 1, width: 1920, height: 1080 });
  const bytes = await readFile(file!);
  const facts = segmentFacts(bytes);
  const profiles = capProfiles(DEFAULT_PROFILES, facts);

  console.log('starting orchestrator (PGlite) and one worker process (concurrency 1)…');
  const db = await openDatabase();
  const orch = await startTestOrchestrator(db, { SEGMINT_HLS_RETAIN: '2' });
  const worker = spawnWorker(orch, ['--concurrency', '1']);
  const stream = await orch.pipeline.streams.create({ name: 'bench', profiles });
  const playlists = [...profiles.map((p) => p.name), 'source'].map((r) => `${orch.url}/hls/${stream.playbackId}/${r}/index.m3u8`);

  const raw = async () => {
    const out = await mkdtemp(join(dir, 'raw-'));
    const t0 = performance.now();
    await run(ffmpegPath(), ladderArgs(file!, facts, profiles.map((profile) => ({ profile, path: join(out, `${profile.name}.ts`) }))));
    const ms = performance.now() - t0;
    await rm(out, { recursive: true, force: true });
    return ms;
  };
  const segmint = async (seq: number) => {
    const name = `1_${seq}.ts`;
    const published = new Promise<void>((resolve) => {
      const on = (_id: string, records: { entry: { seq: number } }[]) => {
        if (!records.some((r) => r.entry.seq === seq)) return;
        orch.pipeline.events.off('published', on);
        resolve();
      };
      orch.pipeline.events.on('published', on);
    });
    const t0 = performance.now();
    const res = await fetch(`${orch.url}/live/${stream.streamKey}/${seq}.ts`, { method: 'PUT', headers: { 'content-type': 'video/mp2t' }, body: new Uint8Array(bytes) });
    if (!res.ok) throw new Error(`push failed: ${res.status} ${await res.text()}`);
    // Timed by the orchestrator's own publish event (polling playlists would steal CPU from
    // ffmpeg); the playlists are then read once to confirm the segment is really listed.
    await published;
    const ms = performance.now() - t0;
    const texts = await Promise.all(playlists.map(async (u) => (await fetch(u)).text()));
    if (!texts.every((t) => t.includes(name))) throw new Error(`segment ${seq} missing from a playlist`);
    return ms;
  };

  try {
    // warm-up: first ffmpeg start, worker's first job, JIT
    await raw();
    await segmint(0);
    const rawMs: number[] = [];
    const ourMs: number[] = [];
    for (let i = 1; i <= RUNS; i++) {
      rawMs.push(await raw());
      ourMs.push(await segmint(i));
      console.log(`run ${i}/${RUNS}: raw ffmpeg ${rawMs.at(-1)!.toFixed(0)} ms, segmint ${ourMs.at(-1)!.toFixed(0)} ms`);
    }
    const r = median(rawMs);
    const s = median(ourMs);
    console.log(`median raw ffmpeg: ${r.toFixed(0)} ms  (ladder ${profiles.map((p) => p.name).join(' ')}, -threads 1 per rendition)`);
    console.log(`median segmint:    ${s.toFixed(0)} ms  (PUT → every rendition in its playlist)`);
    const m = orch.pipeline.metrics;
    const mean = async (h: typeof m.transcodeSeconds) => {
      const v = (await h.get()).values;
      const sum = v.find((x) => x.metricName?.endsWith('_sum'))?.value ?? 0;
      const count = v.find((x) => x.metricName?.endsWith('_count'))?.value ?? 1;
      return (sum / count) * 1000;
    };
    console.log(`mean ffmpeg time inside the worker: ${(await mean(m.transcodeSeconds)).toFixed(0)} ms; ` +
      `mean everything else before acceptance (queue, fetch, facts, uploads, checks): ${(await mean(m.dispatchSeconds)).toFixed(0)} ms`);
    console.log(`pipeline/raw-ffmpeg ratio: ${(s / r).toFixed(2)}`);
  } finally {
    await stopProcess(worker);
    await orch.stop();
    await db.close();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
