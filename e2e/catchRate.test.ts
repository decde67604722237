import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPublicClient, http, type Address } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { generateSegments, segmentFacts } from '@segmint/media';
import { ANVIL_KEYS, deploySegmint, startAnvil, type Anvil, type Deployment } from '@segmint/contracts';
import { stakingManagerAbi } from '@segmint/protocol';
import { openDatabase, type Database } from '../orchestrator/src/db/database.js';
import { sampled } from '../orchestrator/src/verification/spotCheck.js';
import { cheated } from '../worker/src/runner/jobRunner.js';
import { api, onlineWorkers, spawnWorker, startTestOrchestrator, stopProcess, waitFor, workerCli, type TestOrchestrator } from './helpers.js';

// The catch rate of spot-checks: a worker cheating on a fraction f of its n segments, sampled at
// rate p, is caught with probability ≥ 1 − (1 − p·f)ⁿ. Two halves:
// 1. over many seeded runs of the production draws (the orchestrator's sampler and the test
//    cheater, both seeded), the catch frequency meets the bound;
// 2. one seeded run with real processes (orchestrator, cheater, two honest workers, anvil) behaves
//    exactly as those draws say: the same segments sampled, the cheater caught at the predicted
//    segment, slashed, jailed, given nothing more, and none of its cheated output left in the
//    playlist (the caught segment and every unchecked one it published are redone).
const P = 0.05;
const F = 0.1;
const N = 200;
const BOUND = 1 - (1 - P * F) ** N;
const PROFILES = [{ name: 'low', width: 128, height: 72, bitrate: 64_000 }];
const E18 = 10n ** 18n;

const jobId = (seq: number, session = 1) => `stream.${session}.${seq}`;
const seeds = (run: number) => ({ sample: `catch-rate sample ${run}`, cheat: `catch-rate cheat ${run}` });
const isSampled = (seed: string, id: string) => sampled(P, id, seed);
const isCheated = (seed: string, id: string) => cheated(PROFILES, id, { rate: F, seed }) !== PROFILES;
/** First segment both sampled and cheated in a seeded run (n when none). */
function firstCatch(run: number): number {
  const s = seeds(run);
  for (let seq = 0; seq < N; seq++) if (isSampled(s.sample, jobId(seq)) && isCheated(s.cheat, jobId(seq))) return seq;
  return N;
}

describe('catch rate of spot-checks', () => {
  it(`over 5,000 seeded runs (f = ${F}, p = ${P}, n = ${N}) the cheater is caught at least as often as the bound ${BOUND.toFixed(3)} says`, () => {
    const RUNS = 5000;
    let caught = 0;
    for (let run = 0; run < RUNS; run++) if (firstCatch(run) < N) caught++;
    const rate = caught / RUNS;
    // The bound is the exact expectation for independent draws; allow 3 standard errors below it.
    const se = Math.sqrt((BOUND * (1 - BOUND)) / RUNS);
    expect(rate).toBeGreaterThanOrEqual(BOUND - 3 * se);
    // The draws really are rate p and f (not, say, always or never).
    let s = 0;
    let c = 0;
    for (let seq = 0; seq < 20_000; seq++) {
      if (isSampled('rate check', jobId(seq))) s++;
      if (isCheated('rate check', jobId(seq))) c++;
    }
    expect(Math.abs(s / 20_000 - P)).toBeLessThan(0.006);
    expect(Math.abs(c / 20_000 - F)).toBeLessThan(0.01);
  });

  describe('a seeded run with real processes', () => {
    let anvil: Anvil;
    let deployment: Deployment;
    let db: Database;
    let orch: TestOrchestrator;
    let dir: string;
    let children: ChildProcess[] = [];
    afterAll(async () => {
      await Promise.all(children.map((c) => stopProcess(c)));
      await orch?.stop();
      await db?.close();
      await anvil?.stop();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('samples exactly the predicted segments, catches the cheater at the predicted one, slashes and jails it, gives it nothing more, redoes its unchecked segments', async () => {
      // The first seeded run whose catch comes early enough to keep this test short.
      const run = Array.from({ length: 100 }, (_, r) => r).find((r) => firstCatch(r) >= 5 && firstCatch(r) <= 40)!;
      const { sample, cheat } = seeds(run);
      dir = await mkdtemp(join(tmpdir(), 'segmint-catch-'));
      const cheaterKey = generatePrivateKey();
      const cheater = privateKeyToAccount(cheaterKey).address.toLowerCase() as Address;
      anvil = await startAnvil();
      deployment = await deploySegmint({ rpcUrl: anvil.rpcUrl, deployerKey: ANVIL_KEYS[0], fund: [{ address: cheater, eth: E18, tokens: 100n * E18 }] });
      const [database, files] = await Promise.all([openDatabase(), generateSegments({ dir, count: N, segmentSec: 1, width: 256, height: 144, fps: 10 })]);
      db = database;
      const segments = await Promise.all(files.map((f) => readFile(f)));
      expect((await workerCli(['stake', '50', '--key', cheaterKey, '--chain-rpc-url', anvil.rpcUrl, '--staking-manager', deployment.contracts.StakingManager])).code).toBe(0);
      const chain = createPublicClient({ transport: http(anvil.rpcUrl) });
      const sm = { address: deployment.contracts.StakingManager, abi: stakingManagerAbi } as const;
      const slashBps = BigInt(await chain.readContract({ ...sm, functionName: 'slashBps' }));

      orch = await startTestOrchestrator(db, {
        CHAIN_RPC_URL: anvil.rpcUrl, SEGMINT_CHAIN_ID: String(deployment.chainId), SEGMINT_STAKING_MANAGER: deployment.contracts.StakingManager,
        SEGMINT_VERIFIER_KEY: ANVIL_KEYS[0], SEGMINT_STAKE_CACHE_MS: '200',
        SEGMINT_SPOTCHECK_RATE: String(P), SEGMINT_TEST_SPOTCHECK_SEED: sample,
        SEGMINT_HLS_RETAIN: String(N), SEGMINT_DISPATCH_WAIT_MS: '600000', SEGMINT_DEADLINE_FACTOR: '30', SEGMINT_IDLE_TIMEOUT: '600', SEGMINT_API_RATE_LIMIT: '0',
      });
      children = [
        spawnWorker(orch, ['--concurrency', '2', '--price', '100', '--key', cheaterKey, '--test-cheat-rate', String(F), '--test-cheat-seed', cheat]),
        spawnWorker(orch, ['--concurrency', '2', '--price', '200']),
        spawnWorker(orch, ['--concurrency', '2', '--price', '300']),
      ];
      await waitFor('3 workers online', async () => (await onlineWorkers(orch)).length === 3, 60_000);
      const stake0 = (await chain.readContract({ ...sm, functionName: 'getStake', args: [cheater] })).bonded;

      const stream = (await api(orch, 'POST', '/api/stream', { name: 'catch rate', profiles: PROFILES })).json;
      const published = async () => ((await api(orch, 'GET', `/api/stream/${stream.id}/verification`)).json as { segments: number }).segments;
      for (const [seq, bytes] of segments.entries()) {
        // One segment at a time: the cheapest worker (the cheater) is free for each until caught.
        if (seq >= 1) await waitFor(`segment ${seq - 1} published`, async () => (await published()) >= seq, 120_000, 20);
        expect((await fetch(`${orch.url}/live/${stream.streamKey}/${seq}.ts`, { method: 'PUT', headers: { 'content-type': 'video/mp2t' }, body: new Uint8Array(bytes) })).status).toBe(200);
      }
      const settled = (o?: string) => o === undefined || !['pending', 'mismatch'].includes(o);
      const audits = await waitFor('every segment published and every check settled', async () => {
        if ((await published()) < N) return null;
        const all = await Promise.all(Array.from({ length: N }, (_, seq) => api(orch, 'GET', `/api/stream/${stream.id}/segments/${seq}/audit`).then((r) => r.json)));
        const caught = all.some((a) => a.spotCheck?.faulty);
        // Once it is caught, everything the cheater published gets checked (sampled, or redone).
        const allChecked = !caught || all.every((a) => a.worker !== cheater || a.spotCheck);
        return allChecked && all.every((a) => settled(a.spotCheck?.outcome) && (a.spotCheck?.faulty === undefined || a.spotCheck.slash)) ? all : null;
      }, 300_000, 500);

      // 1. The orchestrator sampled exactly the segments the seeded draw says, and no others.
      for (const a of audits) expect([a.seq, a.spotCheck !== null && !a.spotCheck.redo]).toEqual([a.seq, isSampled(sample, a.jobId)]);
      // 2. Caught where predicted: the first sampled segment the cheater cheated on and had a hand in
      //    (published it, or was its verifier); nothing before it, and no honest worker ever blamed.
      const involved = (a: (typeof audits)[number]) => a.worker === cheater || a.spotCheck?.verifier === cheater;
      const predicted = audits.find((a) => a.spotCheck && !a.spotCheck.redo && isCheated(cheat, a.jobId) && involved(a));
      const firstFaulty = audits.find((a) => a.spotCheck?.faulty);
      expect(predicted).toBeDefined();
      expect(firstFaulty?.seq).toBe(predicted!.seq);
      expect(audits.every((a) => a.spotCheck?.faulty === undefined || a.spotCheck.faulty === cheater)).toBe(true);
      for (const a of audits) if (a.spotCheck && !isCheated(cheat, a.jobId)) expect([a.seq, a.spotCheck.outcome]).toEqual([a.seq, 'agree']);
      // Its unchecked segments were all redone: replaced exactly where the seeded cheat says it cheated.
      const redone = audits.filter((a) => a.spotCheck?.redo);
      expect(redone.length).toBe(audits.filter((a) => a.worker === cheater && !isSampled(sample, a.jobId)).length);
      for (const a of redone) {
        expect(a.worker).toBe(cheater);
        expect([a.seq, a.spotCheck.outcome]).toEqual([a.seq, isCheated(cheat, a.jobId) ? 'redone' : 'agree']);
      }
      console.log(`seeded run ${run}: predicted catch at segment ${firstCatch(run)} (cheater involved first at ${predicted!.seq}), caught at ${firstFaulty!.seq}; ` +
        `sampled ${audits.filter((a) => a.spotCheck && !a.spotCheck.redo).length}/${N}, cheater published ${audits.filter((a) => a.worker === cheater).length}, ` +
        `redone ${audits.filter((a) => a.spotCheck?.outcome === 'redone').length}`);

      // 3. Slashed by the configured fraction and jailed, on anvil.
      const slashes = audits.filter((a) => a.spotCheck?.faulty === cheater);
      expect(slashes.every((a) => 'tx' in a.spotCheck.slash)).toBe(true);
      const stake = await chain.readContract({ ...sm, functionName: 'getStake', args: [cheater] });
      let expected = stake0;
      for (let i = 0; i < slashes.length; i++) expected -= (expected * slashBps) / 10_000n;
      expect(stake.bonded).toBe(expected);
      expect(Number(stake.jailedUntil)).toBeGreaterThan(Date.now() / 1000);
      // 4. Nothing more for it: every segment published after the first slash was mined went elsewhere.
      const caughtAt = slashes[0]!;
      const jailedBy = await waitFor('jailed in the marketplace', async () => {
        const w = (await (await fetch(`${orch.url}/marketplace/workers/${cheater}`)).json()) as { jailed: boolean };
        return w.jailed ? Date.now() : null;
      }, 10_000);
      const after = audits.filter((a) => a.publishedAt > jailedBy + 1000);
      expect(after.every((a) => a.worker !== cheater)).toBe(true);
      expect(audits.filter((a) => a.seq > caughtAt.seq + 10).every((a) => a.worker !== cheater)).toBe(true);
      // 5. None of its cheated output is served any more: caught segments and redone ones alike.
      const cheatedByIt = audits.filter((a) => a.worker === cheater && isCheated(cheat, a.jobId));
      expect(cheatedByIt.length).toBeGreaterThan(0);
      for (const a of cheatedByIt) {
        expect([a.seq, a.spotCheck.replaced, a.rev]).toEqual([a.seq, true, 1]);
        // Republished under a new name; the cheater's file is never served again.
        expect((await fetch(`${orch.url}/hls/${stream.playbackId}/low/1_${a.seq}.ts`)).status).toBe(404);
        const served = Buffer.from(await (await fetch(`${orch.url}/hls/${stream.playbackId}/low/1_${a.seq}r1.ts`)).arrayBuffer());
        expect(segmentFacts(served).videoSha256).not.toBe(a.renditions[0].sha256);
      }
    }, 900_000);
  });
});
