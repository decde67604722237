import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { generateSegments } from '@segmint/media';
import { ANVIL_KEYS, deploySegmint, startAnvil, type Anvil, type Deployment } from '@segmint/contracts';
import { openDatabase, type Database } from '../orchestrator/src/db/database.js';
import { bondStake } from '../worker/src/chain/stake.js';
import { api, startTestOrchestrator, testWorker, waitFor, type TestOrchestrator } from './helpers.js';

// The chain RPC (a real anvil) stops mid-test: stake reads fail. Auctions go on with the last known
// stake for SEGMINT_STAKE_MAX_STALE_MS, then exclude the worker until a read succeeds again.
const E18 = 10n ** 18n;
const CACHE_MS = 300;
const MAX_STALE_MS = 4_000;

let anvil: Anvil;
let deployment: Deployment;
let db: Database;
let orch: TestOrchestrator;
let dir: string;
let segments: Buffer[];
const stakerKey = generatePrivateKey();
const staker = privateKeyToAccount(stakerKey).address;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'segmint-stake-outage-'));
  // --state: the chain is dumped when anvil stops and loaded when it starts again
  anvil = await startAnvil({ args: ['--state', join(dir, 'chain.json')] });
  deployment = await deploySegmint({ rpcUrl: anvil.rpcUrl, deployerKey: ANVIL_KEYS[0], fund: [{ address: staker, eth: E18, tokens: 80n * E18 }] });
  const [database, files] = await Promise.all([openDatabase(), generateSegments({ dir, count: 3, width: 320, height: 180 })]);
  db = database;
  segments = await Promise.all(files.map((f) => readFile(f)));
  // bonded in-process (the CLI is tested in stake.test.ts): approve + bond, mined
  const staked = await bondStake({ rpcUrl: anvil.rpcUrl, stakingManager: deployment.contracts.StakingManager, account: privateKeyToAccount(stakerKey), amount: 20n * E18 });
  expect(staked.bonded).toBe(20n * E18);
  orch = await startTestOrchestrator(db, {
    CHAIN_RPC_URL: anvil.rpcUrl,
    SEGMINT_CHAIN_ID: String(deployment.chainId),
    SEGMINT_STAKING_MANAGER: deployment.contracts.StakingManager,
    SEGMINT_MIN_STAKE: String(10n * E18),
    SEGMINT_STAKE_CACHE_MS: String(CACHE_MS),
    SEGMINT_STAKE_MAX_STALE_MS: String(MAX_STALE_MS),
    SEGMINT_DEADLINE_FACTOR: '60',
    SEGMINT_IDLE_TIMEOUT: '600',
  });
}, 120_000);

afterAll(async () => {
  await orch?.stop();
  await db?.close();
  await anvil?.stop();
  await rm(dir, { recursive: true, force: true });
}, 120_000);

describe('stake reads while the chain RPC is down', () => {
  it('the last known stake carries auctions through the outage (a new worker whose first read fails fails none), then the worker is excluded, then wins again once the chain is back', async () => {
    const worker = await testWorker(orch, { pricePerPixel: 200n, key: stakerKey });
    let newcomer: Awaited<ReturnType<typeof testWorker>> | undefined;
    try {
      const stream = (await api(orch, 'POST', '/api/stream', { name: 'outage', profiles: [{ name: 'low', width: 320, height: 180, bitrate: 200_000 }] })).json;
      const push = (seq: number) => fetch(`${orch.url}/live/${stream.streamKey}/${seq}.ts`, { method: 'PUT', headers: { 'content-type': 'video/mp2t' }, body: new Uint8Array(segments[seq]!) });
      const jobId = (seq: number) => `${stream.id}.1.${seq}`;

      expect((await push(0)).status).toBe(200);
      expect((await worker.job(jobId(0))).worker).toBe(staker.toLowerCase());
      await new Promise((r) => setTimeout(r, CACHE_MS + 50)); // the value read before the outage is past its cache time

      await anvil.stop();
      const outageAt = Date.now();
      // a worker never read before registers now: its first read fails (before this change, every auction threw)
      newcomer = await testWorker(orch, { pricePerPixel: 1n });
      expect((await push(1)).status).toBe(200);
      expect((await worker.job(jobId(1))).worker).toBe(staker.toLowerCase());
      expect(Date.now() - outageAt).toBeLessThan(MAX_STALE_MS); // served from the last known value, not after the window
      expect(await newcomer.hasJob(jobId(1))).toBe(false);

      // past the window: the staked worker is excluded; the segment is accepted and waits
      await new Promise((r) => setTimeout(r, Math.max(0, outageAt + CACHE_MS + MAX_STALE_MS + 200 - Date.now())));
      expect((await push(2)).status).toBe(200);
      await new Promise((r) => setTimeout(r, 1_500));
      expect(await worker.hasJob(jobId(2))).toBe(false);
      expect(await newcomer.hasJob(jobId(2))).toBe(false);
      const listed = (await (await fetch(`${orch.url}/marketplace/workers/${staker}`)).json()) as { stake: string; stakeUnavailable: boolean };
      expect(listed).toMatchObject({ stake: '0', stakeUnavailable: true });

      // the chain is back (same port, same state): the next read succeeds and the waiting segment goes out
      anvil = await startAnvil({ port: anvil.port, args: ['--state', join(dir, 'chain.json')] });
      expect((await worker.job(jobId(2))).worker).toBe(staker.toLowerCase());
      expect(await newcomer.hasJob(jobId(2))).toBe(false);
      await waitFor('stake read again', async () => {
        const w = (await (await fetch(`${orch.url}/marketplace/workers/${staker}`)).json()) as { stake: string; stakeUnavailable: boolean };
        return w.stake === String(20n * E18) && !w.stakeUnavailable;
      });
    } finally {
      await newcomer?.stop();
      await worker.stop();
    }
  }, 120_000);
});
