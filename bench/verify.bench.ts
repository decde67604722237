/**
 * What spot-checks cost and catch.
 * 1. Real pipeline: an orchestrator and two honest worker processes, every segment checked
 *    (rate 1): the number of hash mismatches between honest workers (must be 0), and the check's
 *    transcode time relative to the original's; the extra cost at 5 % is 5 % × that ratio.
 * 2. Catch rate: a cheater altering a fraction f = 0.1 of its n = 200 segments, sampled at
 *    p = 0.05 by the orchestrator's own sampler (crypto randomness, as in production), over many
 *    seeded-free runs; a sampled cheated segment is caught (the e2e tests show the verifier +
 *    tie-break + slash path). Compared with the bound 1 − (1 − p·f)^n.
 * Last line: `catch rate X.XXX vs bound Y.YYY, honest mismatches N`.
 * Usage: npm run bench:verify [-- --segments 12 --runs 20000]
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSegments } from '@segmint/media';
import { openDatabase } from '../orchestrator/src/db/database.js';
import { sampled } from '../orchestrator/src/verification/spotCheck.js';
import { api, spawnWorker, startTestOrchestrator, stopProcess, waitFor } from '../e2e/helpers.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const SEGMENTS = arg('--segments', 12);
const RUNS = arg('--runs', 20_000);
const P = 0.05;
const F = 0.1;
const N = 200;

async function honestRun(): Promise<{ comparisons: number; mismatches: number; costRatio: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'segmint-bench-verify-'));
  console.log(`generating ${SEGMENTS} 2 s 1280x720 segments…`);
  const files = await generateSegments({ dir, count: SEGMENTS, width: 1280, height: 720 });
  const db = await openDatabase();
  const orch = await startTestOrchestrator(db, { SEGMINT_SPOTCHECK_RATE: '1', SEGMINT_DEADLINE_FACTOR: '30', SEGMINT_IDLE_TIMEOUT: '600' });
  const workers = [spawnWorker(orch, ['--concurrency', '1', '--price', '100']), spawnWorker(orch, ['--concurrency', '1', '--price', '200'])];
  try {
    await waitFor('2 workers online', async () => ((await (await fetch(`${orch.url}/marketplace/workers`)).json()) as { online: boolean }[]).filter((w) => w.online).length === 2, 60_000);
    const stream = (await api(orch, 'POST', '/api/stream', { name: 'bench verify' })).json;
    console.log(`pushing them through the default ladder, every segment spot-checked…`);
    for (const [seq, file] of files.entries()) {
      await fetch(`${orch.url}/live/${stream.streamKey}/${seq}.ts`, { method: 'PUT', headers: { 'content-type': 'video/mp2t' }, body: new Uint8Array(await readFile(file)) });
    }
    const audits = await waitFor('every check done', async () => {
      const all = await Promise.all(files.map((_, seq) => api(orch, 'GET', `/api/stream/${stream.id}/segments/${seq}/audit`)));
      const settled = all.every((a) => a.status === 200 && a.json.spotCheck && !['pending', 'mismatch'].includes(a.json.spotCheck.outcome));
      return settled ? all.map((a) => a.json) : null;
    }, 600_000);
    const checked = audits.filter((a) => a.spotCheck.verifierTranscodeMs !== undefined);
    const ratio = checked.reduce((s, a) => s + a.spotCheck.verifierTranscodeMs / a.transcodeMs, 0) / Math.max(1, checked.length);
    return { comparisons: checked.length, mismatches: audits.filter((a) => a.spotCheck.outcome !== 'agree').length, costRatio: ratio };
  } finally {
    await Promise.all(workers.map((w) => stopProcess(w)));
    await orch.stop();
    await db.close();
    await rm(dir, { recursive: true, force: true });
  }
}

function catchRate(): number {
  let caught = 0;
  for (let run = 0; run < RUNS; run++) {
    for (let seg = 0; seg < N; seg++) {
      if (Math.random() < F && sampled(P)) {
        caught++;
        break;
      }
    }
  }
  return caught / RUNS;
}

async function main() {
  const honest = await honestRun();
  console.log(`honest workers: ${honest.comparisons} comparisons, ${honest.mismatches} mismatches`);
  console.log(`check transcode time / original: ${honest.costRatio.toFixed(2)} → extra transcode cost at ${P * 100} %: ${(P * honest.costRatio * 100).toFixed(1)} %`);
  const rate = catchRate();
  const bound = 1 - (1 - P * F) ** N;
  console.log(`cheater f=${F}, n=${N}, p=${P}: caught in ${(rate * 100).toFixed(1)} % of ${RUNS} runs (bound ${(bound * 100).toFixed(1)} %)`);
  console.log(`catch rate ${rate.toFixed(3)} vs bound ${bound.toFixed(3)}, honest mismatches ${honest.mismatches}`);
}

main().then(() => process.exit(0), (err) => {
  console.error(err);
  process.exit(1);
});
