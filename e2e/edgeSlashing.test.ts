import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createPublicClient, http, type Address } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { generateSegments } from '@segmint/media';
import { ANVIL_KEYS, deploySegmint, startAnvil, type Anvil, type Deployment } from '@segmint/contracts';
import { stakingManagerAbi, type SlashEvidence } from '@segmint/protocol';
import { openDatabase, type Database } from '../orchestrator/src/db/database.js';
import { startEdge, type EdgeNode } from '../edge/src/edgeNode.js';
import { spawnWorker, startTestOrchestrator, stopProcess, waitFor, workerCli, type TestOrchestrator } from './helpers.js';
import { EdgeViewer, liveStream, play, type LiveStream } from './edgeFixtures.js';

// A staked edge serving wrong bytes, caught by a viewer, is slashed on a real anvil with the
// evidence it cannot deny: its own signature over the hash of the bytes it sent, next to the
// orchestrator-signed hash of that segment.
const E18 = 10n ** 18n;

let anvil: Anvil;
let deployment: Deployment;
let db: Database;
let orch: TestOrchestrator;
let worker: ChildProcess;
let stream: LiveStream;
let edge: EdgeNode;
let dir: string;
const edgeKey = generatePrivateKey();
const edgeAddress = privateKeyToAccount(edgeKey).address.toLowerCase() as Address;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'segmint-edge-slash-'));
  anvil = await startAnvil();
  deployment = await deploySegmint({ rpcUrl: anvil.rpcUrl, deployerKey: ANVIL_KEYS[0], fund: [{ address: edgeAddress, eth: E18, tokens: 100n * E18 }] });
  const [database, files] = await Promise.all([openDatabase(), generateSegments({ dir, count: 6, width: 320, height: 180, fps: 15 })]);
  db = database;
  // an edge stakes as a worker does: same StakingManager, same key
  expect((await workerCli(['stake', '50', '--key', edgeKey, '--chain-rpc-url', anvil.rpcUrl, '--staking-manager', deployment.contracts.StakingManager])).code).toBe(0);
  orch = await startTestOrchestrator(db, {
    CHAIN_RPC_URL: anvil.rpcUrl,
    SEGMINT_CHAIN_ID: String(deployment.chainId),
    SEGMINT_STAKING_MANAGER: deployment.contracts.StakingManager,
    SEGMINT_VERIFIER_KEY: ANVIL_KEYS[0], // the deployer holds VERIFIER_ROLE
    SEGMINT_STAKE_CACHE_MS: '200',
    SEGMINT_EDGE_MIN_STAKE: (10n * E18).toString(),
    SEGMINT_EDGE_MYSTERY_INTERVAL_MS: '0', // the viewer's report is what is tested
    SEGMINT_IDLE_TIMEOUT: '600',
  });
  worker = spawnWorker(orch, ['--concurrency', '2']);
  stream = await liveStream(orch, await Promise.all(files.map((f) => readFile(f))), { name: 'edge-slash', ready: 3 });
}, 240_000);

afterAll(async () => {
  stream?.stop();
  await edge?.close().catch(() => {});
  await stopProcess(worker);
  await orch?.stop();
  await db?.close();
  await anvil?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('slashing an edge', () => {
  it('a staked edge serving garbage is reported by its viewer and slashed on-chain with its own signature as evidence; the same evidence again reverts', async () => {
    edge = await startEdge({
      orchestratorUrl: orch.url, account: privateKeyToAccount(edgeKey), port: 0, cacheBytes: 64 << 20, maxViewers: 100, receiptIntervalMs: 300,
      receiptsDir: join(dir, 'receipts'), logger: pino({ level: 'silent' }), tamper: (b) => Buffer.from(b.map((x, i) => (i % 188 === 100 ? x ^ 0xff : x))),
    });
    const v = await EdgeViewer.start({ orchestratorUrl: orch.url, playbackId: stream.playbackId });
    expect(v.edge?.address).toBe(edgeAddress); // staked above the minimum: it gets viewers
    await play(v, 'low', 6000);
    v.close();
    expect(v.stats.rejectedSegments).toBe(1);
    expect(v.stats.faultsReported).toBe(1);

    const pub = createPublicClient({ transport: http(anvil.rpcUrl) });
    const stake = await waitFor('the edge slashed', async () => {
      const s = await pub.readContract({ address: deployment.contracts.StakingManager, abi: stakingManagerAbi, functionName: 'getStake', args: [edgeAddress] });
      return BigInt(s.bonded) < 50n * E18 ? s : null;
    }, 60_000, 250);
    expect(BigInt(stake.bonded)).toBeLessThanOrEqual(45n * E18); // 10 % per slash
    expect(Number(stake.jailedUntil)).toBeGreaterThan(Date.now() / 1000);

    // the evidence kept with the exclusion is what the contract took: the edge's signed hash, the signed correct one
    const view = (await (await fetch(`${orch.url}/edges/${edgeAddress}`)).json()) as { excluded: boolean; faults: { receivedSha256: string; correctSha256: string; evidence: SlashEvidence }[] };
    expect(view.excluded).toBe(true);
    const fault = view.faults[0]!;
    expect(fault.receivedSha256).not.toBe(fault.correctSha256);
    expect(fault.evidence.committedHash).toBe(`0x${fault.receivedSha256}`);
    expect(fault.evidence.correctHash).toBe(`0x${fault.correctSha256}`);
    await expect(
      pub.simulateContract({ account: privateKeyToAccount(ANVIL_KEYS[0]), address: deployment.contracts.StakingManager, abi: stakingManagerAbi, functionName: 'slash', args: [edgeAddress, fault.evidence] }),
    ).rejects.toThrow(/AlreadySlashed/);
    // and no viewer is steered to it any more
    const next = await EdgeViewer.start({ orchestratorUrl: orch.url, playbackId: stream.playbackId });
    expect(next.edge).toBeNull();
  }, 180_000);
});
