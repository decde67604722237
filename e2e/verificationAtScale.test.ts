import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSegments } from '@segmint/media';
import { openDatabase, type Database } from '../orchestrator/src/db/database.js';
import { api, onlineWorkers, spawnWorker, startTestOrchestrator, stopProcess, waitFor, type TestOrchestrator } from './helpers.js';

// Spot-checks at scale between real worker processes: honest workers on different CPU budgets
// never disagree.
const PROFILES = [{ name: 'low', width: 128, height: 72, bitrate: 64_000 }];

let db: Database;
let dir: string;
let orch: TestOrchestrator | undefined;
let children: ChildProcess[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'segmint-scale-'));
  db = await openDatabase();
}, 60_000);
afterAll(async () => {
  await Promise.all(children.map((c) => stopProcess(c)));
  await orch?.stop();
  await db?.close();
  await rm(dir, { recursive: true, force: true });
});

type Summary = { segments: number; sampled: number; outcomes: Record<string, number>; transcodeMs: number; checkTranscodeMs: number; extraCost: number };

/** Pushes segments, keeping at most `ahead` unpublished (the workers set the pace). */
async function pushAll(o: TestOrchestrator, stream: { id: string; streamKey: string }, segments: Buffer[], ahead = 8) {
  const summary = async () => (await api(o, 'GET', `/api/stream/${stream.id}/verification`)).json as Summary;
  for (const [seq, bytes] of segments.entries()) {
    if (seq >= ahead) await waitFor(`segment ${seq - ahead} published`, async () => (await summary()).segments > seq - ahead, 120_000);
    const res = await fetch(`${o.url}/live/${stream.streamKey}/${seq}.ts`, { method: 'PUT', headers: { 'content-type': 'video/mp2t' }, body: new Uint8Array(bytes) });
    expect(res.status).toBe(200);
  }
  return summary;
}

describe('honest workers on different CPU budgets', () => {
  it('agree bit for bit on 500 sampled comparisons, one worker pinned to a single core (taskset)', async () => {
    const COUNT = 500;
    const files = await generateSegments({ dir: join(dir, 'honest'), count: COUNT, segmentSec: 1, width: 256, height: 144, fps: 10 });
    const segments = await Promise.all(files.map((f) => readFile(f)));
    orch = await startTestOrchestrator(db, {
      SEGMINT_SPOTCHECK_RATE: '1', SEGMINT_HLS_RETAIN: String(COUNT), SEGMINT_DISPATCH_WAIT_MS: '600000',
      SEGMINT_DEADLINE_FACTOR: '30', SEGMINT_IDLE_TIMEOUT: '600', SEGMINT_API_RATE_LIMIT: '0',
    });
    children = [
      spawnWorker(orch, ['--concurrency', '2', '--price', '100']),
      spawnWorker(orch, ['--concurrency', '1', '--price', '100'], {}, { pinToCpu: 0 }),
    ];
    await waitFor('2 workers online', async () => (await onlineWorkers(orch!)).length === 2, 60_000);
    const stream = (await api(orch, 'POST', '/api/stream', { name: 'honest at scale', profiles: PROFILES })).json;
    const summary = await pushAll(orch, stream, segments);
    const done = await waitFor('every comparison done', async () => {
      const s = await summary();
      return s.segments === COUNT && !s.outcomes.pending && !s.outcomes.mismatch ? s : null;
    }, 300_000, 250);
    console.log(`honest comparisons: ${done.sampled}, outcomes ${JSON.stringify(done.outcomes)}, check cost ${(done.extraCost * 100).toFixed(0)} % of the publishing transcodes at rate 1`);
    expect(done).toMatchObject({ segments: COUNT, sampled: COUNT, outcomes: { agree: COUNT } });
    // Both workers published and both verified (the comparisons ran in both directions); when the
    // other worker was busy, the orchestrator's own re-transcode (a third CPU budget) compared.
    const audits = await Promise.all(Array.from({ length: COUNT }, (_, seq) => api(orch!, 'GET', `/api/stream/${stream.id}/segments/${seq}/audit`).then((r) => r.json)));
    const publishers = new Set(audits.map((a) => a.worker));
    const verifiers = new Set(audits.map((a) => a.spotCheck.verifier));
    expect(publishers.size).toBe(2);
    for (const w of publishers) expect(verifiers.has(w)).toBe(true);
    expect([...verifiers].every((v) => publishers.has(v) || v === 'orchestrator')).toBe(true);
    console.log(`verified by the other worker: ${audits.filter((a) => a.spotCheck.verifier !== 'orchestrator').length}, by the orchestrator: ${audits.filter((a) => a.spotCheck.verifier === 'orchestrator').length}`);
    for (const a of audits) expect(a.spotCheck.verifier).not.toBe(a.worker);
    const metrics = await (await fetch(`${orch.url}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`segmint_spotchecks_total\\{outcome="agree"\\} ${COUNT}\\b`));
    expect(metrics).not.toMatch(/segmint_spotchecks_total\{outcome="mismatch"\} [1-9]/);
    expect(metrics).not.toMatch(/segmint_slashes_total\{outcome="sent"\} [1-9]/);
  }, 900_000);
});
