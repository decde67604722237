import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPublicClient, http, type Address, type Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { generateSegments, segmentFacts } from '@segmint/media';
import { ANVIL_KEYS, deploySegmint, startAnvil, type Anvil, type Deployment } from '@segmint/contracts';
import { buildCommitmentTree, slashEvidence, stakingManagerAbi } from '@segmint/protocol';
import { openDatabase, type Database } from '../orchestrator/src/db/database.js';
import { api, onlineWorkers, spawnWorker, startTestOrchestrator, stopProcess, waitFor, workerCli, type TestOrchestrator } from './helpers.js';

// A cheater caught by spot-checks is slashed on a real anvil with evidence the contract checks.
const E18 = 10n ** 18n;
const PROFILES = [{ name: 'low', width: 320, height: 180, bitrate: 200_000 }];

let anvil: Anvil;
let deployment: Deployment;
let db: Database;
let orch: TestOrchestrator;
let dir: string;
let segments: Buffer[];
let children: ChildProcess[] = [];
const cheaterKey = generatePrivateKey();
const cheater = privateKeyToAccount(cheaterKey).address.toLowerCase() as Address;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'segmint-slash-'));
  anvil = await startAnvil();
  deployment = await deploySegmint({ rpcUrl: anvil.rpcUrl, deployerKey: ANVIL_KEYS[0], fund: [{ address: cheater, eth: E18, tokens: 100n * E18 }] });
  const [database, files] = await Promise.all([openDatabase(), generateSegments({ dir, count: 6, width: 640, height: 360 })]);
  db = database;
  segments = await Promise.all(files.map((f) => readFile(f)));
  expect((await workerCli(['stake', '50', '--key', cheaterKey, '--chain-rpc-url', anvil.rpcUrl, '--staking-manager', deployment.contracts.StakingManager])).code).toBe(0);
  orch = await startTestOrchestrator(db, {
    CHAIN_RPC_URL: anvil.rpcUrl,
    SEGMINT_CHAIN_ID: String(deployment.chainId),
    SEGMINT_STAKING_MANAGER: deployment.contracts.StakingManager,
    SEGMINT_VERIFIER_KEY: ANVIL_KEYS[0], // the deployer holds VERIFIER_ROLE
    SEGMINT_STAKE_CACHE_MS: '200',
    SEGMINT_SPOTCHECK_RATE: '1',
    SEGMINT_DEADLINE_FACTOR: '20',
    SEGMINT_IDLE_TIMEOUT: '600',
  });
}, 180_000);

afterAll(async () => {
  await Promise.all(children.map((c) => stopProcess(c)));
  await orch?.stop();
  await db?.close();
  await anvil?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('slashing a worker caught by spot-checks', () => {
  it('slashes the cheater on-chain (stake down by the slash fraction, jailed), then it wins nothing; replayed evidence reverts', async () => {
    children = [
      spawnWorker(orch, ['--concurrency', '2', '--price', '100', '--key', cheaterKey, '--test-cheat-rate', '1']),
      spawnWorker(orch, ['--concurrency', '2', '--price', '200']),
      spawnWorker(orch, ['--concurrency', '2', '--price', '300']),
    ];
    await waitFor('3 workers online', async () => (await onlineWorkers(orch)).length === 3, 60_000);
    const stream = (await api(orch, 'POST', '/api/stream', { name: 'cheated', profiles: PROFILES })).json;
    const push = (seq: number) => fetch(`${orch.url}/live/${stream.streamKey}/${seq}.ts`, { method: 'PUT', headers: { 'content-type': 'video/mp2t' }, body: new Uint8Array(segments[seq]!) });
    for (let seq = 0; seq < 2; seq++) expect((await push(seq)).status).toBe(200);

    // The cheater (cheapest) published seq 0; a verifier and a tie-breaker prove it wrong; it is slashed.
    const audit = await waitFor('the cheater slashed', async () => {
      const a = await api(orch, 'GET', `/api/stream/${stream.id}/segments/0/audit`);
      return a.status === 200 && a.json.spotCheck?.slash ? a.json : null;
    }, 120_000);
    expect(audit.worker).toBe(cheater);
    expect(audit.spotCheck).toMatchObject({ outcome: 'caught', faulty: cheater, mismatched: ['low'], slash: { tx: expect.stringMatching(/^0x/) } });

    // Viewers now get the output the two honest workers agree on, under a new name: the playlist
    // lists revision 1, and the cheater's file (served immutable) is never served again.
    expect(audit.spotCheck.replaced).toBe(true);
    expect(audit.rev).toBe(1);
    const playlist = await (await fetch(`${orch.url}/hls/${stream.playbackId}/low/index.m3u8`)).text();
    expect(playlist).toContain('1_0r1.ts');
    expect(playlist).not.toMatch(/^1_0\.ts$/m);
    expect((await fetch(`${orch.url}/hls/${stream.playbackId}/low/1_0.ts`)).status).toBe(404);
    const served = Buffer.from(await (await fetch(`${orch.url}/hls/${stream.playbackId}/low/1_0r1.ts`)).arrayBuffer());
    expect(segmentFacts(served).videoSha256).toBe(audit.spotCheck.verifierRenditions[0].sha256);
    expect(segmentFacts(served).videoSha256).not.toBe(audit.renditions[0].sha256);

    const pub = createPublicClient({ transport: http(anvil.rpcUrl) });
    const stake = await pub.readContract({ address: deployment.contracts.StakingManager, abi: stakingManagerAbi, functionName: 'getStake', args: [cheater] });
    expect(BigInt(stake.bonded)).toBeLessThanOrEqual(45n * E18); // 10 % per slash
    expect(Number(stake.jailedUntil)).toBeGreaterThan(Date.now() / 1000);
    await waitFor('jailed in the marketplace', async () => ((await (await fetch(`${orch.url}/marketplace/workers/${cheater}`)).json()) as { jailed: boolean }).jailed, 10_000);

    // The same evidence again: the contract refuses it, nobody is slashed twice for one offence.
    const evidence = slashEvidence({
      tree: buildCommitmentTree(audit.jobId, audit.renditions),
      signature: audit.commitment.signature as Hex,
      rendition: 'low',
      correctSha256: audit.spotCheck.verifierRenditions[0].sha256,
    });
    await expect(
      pub.simulateContract({ account: privateKeyToAccount(ANVIL_KEYS[0]), address: deployment.contracts.StakingManager, abi: stakingManagerAbi, functionName: 'slash', args: [cheater, evidence] }),
    ).rejects.toThrow(/AlreadySlashed/);

    // Jailed: every later segment goes to the honest workers.
    for (let seq = 2; seq < 6; seq++) expect((await push(seq)).status).toBe(200);
    const later = await waitFor('later segments audited', async () => {
      const all = await Promise.all([2, 3, 4, 5].map((seq) => api(orch, 'GET', `/api/stream/${stream.id}/segments/${seq}/audit`)));
      return all.every((a) => a.status === 200) ? all.map((a) => a.json) : null;
    }, 120_000);
    expect(later.every((a) => a.worker !== cheater)).toBe(true);
  }, 300_000);
});
