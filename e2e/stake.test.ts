import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { generateSegments } from '@segmint/media';
import { ANVIL_KEYS, deploySegmint, startAnvil, type Anvil, type Deployment } from '@segmint/contracts';
import { openDatabase, type Database } from '../orchestrator/src/db/database.js';
import { api, startTestOrchestrator, testWorker, waitFor, workerCli, type TestOrchestrator } from './helpers.js';

// Stake on a real anvil with the real contracts: only a worker with enough bonded stake wins.
const E18 = 10n ** 18n;

let anvil: Anvil;
let deployment: Deployment;
let db: Database;
let orch: TestOrchestrator;
let dir: string;
let segment: Buffer;
const stakerKey = generatePrivateKey();
const staker = privateKeyToAccount(stakerKey).address;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'segmint-stake-'));
  anvil = await startAnvil();
  deployment = await deploySegmint({ rpcUrl: anvil.rpcUrl, deployerKey: ANVIL_KEYS[0], fund: [{ address: staker, eth: E18, tokens: 80n * E18 }] });
  const [database, files] = await Promise.all([openDatabase(), generateSegments({ dir, count: 1, width: 640, height: 360 })]);
  db = database;
  segment = await readFile(files[0]!);
  orch = await startTestOrchestrator(db, {
    CHAIN_RPC_URL: anvil.rpcUrl,
    SEGMINT_CHAIN_ID: String(deployment.chainId),
    SEGMINT_STAKING_MANAGER: deployment.contracts.StakingManager,
    SEGMINT_MIN_STAKE: String(10n * E18),
    SEGMINT_STAKE_CACHE_MS: '200',
    SEGMINT_DEADLINE_FACTOR: '60',
  });
}, 120_000);

afterAll(async () => {
  await orch?.stop();
  await db?.close();
  await anvil?.stop();
  await rm(dir, { recursive: true, force: true });
});

const chainFlags = () => ['--chain-rpc-url', anvil.rpcUrl, '--staking-manager', deployment.contracts.StakingManager];

describe('stake gates the auction', () => {
  it('a segment waits while no worker has the minimum stake, then goes to the one that bonds, never to the cheaper unstaked one', async () => {
    const unstaked = await testWorker(orch, { pricePerPixel: 50n });
    const worker = await testWorker(orch, { pricePerPixel: 200n, key: stakerKey });
    try {
      const stream = (await api(orch, 'POST', '/api/stream', { name: 'staked', profiles: [{ name: 'low', width: 320, height: 180, bitrate: 200_000 }] })).json;
      const put = await fetch(`${orch.url}/live/${stream.streamKey}/0.ts`, { method: 'PUT', headers: { 'content-type': 'video/mp2t' }, body: new Uint8Array(segment) });
      expect(put.status).toBe(200);
      const jobId = `${stream.id}.1.0`;
      await new Promise((r) => setTimeout(r, 1000));
      expect(await unstaked.hasJob(jobId)).toBe(false);
      expect(await worker.hasJob(jobId)).toBe(false);
      const before = (await (await fetch(`${orch.url}/marketplace/workers/${staker}`)).json()) as { stake: string };
      expect(before.stake).toBe('0');

      const staked = await workerCli(['stake', '20', '--key', stakerKey, ...chainFlags()]);
      expect(staked.out).toContain('2/2 bond 20 SEG');
      expect(staked.out).toContain('bonded: 20 SEG');
      expect(staked.code).toBe(0);

      const job = await worker.job(jobId);
      expect(job.worker).toBe(staker.toLowerCase());
      expect(await unstaked.hasJob(jobId)).toBe(false);
      const after = (await (await fetch(`${orch.url}/marketplace/workers/${staker}`)).json()) as { stake: string };
      expect(after.stake).toBe(String(20n * E18));

      const status = await workerCli(['status', '--key', stakerKey, '--orchestrator', orch.url, ...chainFlags()]);
      expect(status.code).toBe(0);
      expect(status.out).toContain('stake: 20 SEG bonded, 0 SEG unbonding, 60 SEG in the wallet');
    } finally {
      await unstaked.stop();
      await worker.stop();
    }
  }, 120_000);

  it('tells the owner what to do when staking cannot work', async () => {
    const tooMuch = await workerCli(['stake', '1000', '--key', stakerKey, ...chainFlags()]);
    expect(tooMuch.code).toBe(2);
    expect(tooMuch.out).toMatch(/holds 60 SEG, not 1000 SEG: get stake tokens first/);
    const noGas = await workerCli(['stake', '1', '--key', generatePrivateKey(), ...chainFlags()]);
    expect(noGas.code).toBe(2);
    expect(noGas.out).toMatch(/holds 0 SEG, not 1 SEG/);
    const unreachable = await workerCli(['stake', '1', '--key', stakerKey, '--chain-rpc-url', 'http://127.0.0.1:9', '--staking-manager', deployment.contracts.StakingManager]);
    expect(unreachable.code).toBe(2);
    expect(unreachable.out).toMatch(/cannot reach the chain at http:\/\/127\.0\.0\.1:9.*check CHAIN_RPC_URL/);
    const noChain = await workerCli(['stake', '1', '--key', stakerKey]);
    expect(noChain.out).toMatch(/set CHAIN_RPC_URL/);
  }, 60_000);
});
