/** The deploy CLI against a running anvil: deploys, grants the verifier role, writes the file. */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPublicClient, getAddress, http } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { NETWORKS, networkEnv, segmintTokenAbi, stakingManagerAbi } from '@segmint/protocol';
import { ANVIL_KEYS, startAnvil, type Anvil } from '../script/anvil.js';
import { contractsDir } from '../script/foundry.js';
import { readDeployment } from '../script/deploy.js';

let anvil: Anvil;
let dir: string;

beforeAll(async () => {
  anvil = await startAnvil();
  dir = await mkdtemp(join(tmpdir(), 'segmint-deploy-'));
});

afterAll(async () => {
  await anvil?.stop();
  await rm(dir, { recursive: true, force: true });
});

function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(contractsDir, 'script', 'deployCli.ts'), ...args], {
      cwd: contractsDir,
      env: { ...process.env, ...env },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) => resolve({ code, out }));
  });
}

describe('deploy CLI', () => {
  it('deploys to CHAIN_RPC_URL and writes a deployment file readDeployment can load', async () => {
    const out = join(dir, 'deployment.json');
    const verifier = getAddress('0x00000000000000000000000000000000000c0ffe');
    const { code, out: log } = await runCli(['--out', out, '--verifier', verifier], {
      CHAIN_RPC_URL: anvil.rpcUrl,
      DEPLOYER_PRIVATE_KEY: ANVIL_KEYS[0],
    });
    expect({ code, log }).toMatchObject({ code: 0 });
    const d = await readDeployment(out);
    expect(d.chainId).toBe(31337);
    expect(d.tokenDeployed).toBe(true);
    expect(typeof d.staking.minStake).toBe('bigint');
    const pub = createPublicClient({ transport: http(anvil.rpcUrl) });
    const role = await pub.readContract({ address: d.contracts.StakingManager, abi: stakingManagerAbi, functionName: 'VERIFIER_ROLE' });
    expect(await pub.readContract({ address: d.contracts.StakingManager, abi: stakingManagerAbi, functionName: 'hasRole', args: [role, verifier] })).toBe(true);
    expect(await pub.readContract({ address: d.contracts.StakingManager, abi: stakingManagerAbi, functionName: 'minStake' })).toBe(d.staking.minStake);
  });

  it('--network anvil writes DIR/anvil.json with the preset recorded and funds the demo accounts', async () => {
    const { code, out: log } = await runCli(['--network', 'anvil'], { CHAIN_RPC_URL: anvil.rpcUrl, SEGMINT_DEPLOYMENTS_DIR: dir, DEPLOYER_PRIVATE_KEY: '' });
    expect({ code, log }).toMatchObject({ code: 0 });
    expect(log).toContain('SEGMINT_NETWORK=anvil');
    const d = await readDeployment(join(dir, 'anvil.json'));
    expect(d).toMatchObject({ chainId: 31337, network: 'anvil', rpcUrl: anvil.rpcUrl });
    const env = networkEnv('anvil', dir);
    expect(env).toEqual({ CHAIN_RPC_URL: anvil.rpcUrl, SEGMINT_CHAIN_ID: '31337', SEGMINT_STAKING_MANAGER: d.contracts.StakingManager, SEGMINT_TICKET_BROKER: d.contracts.TicketBroker });
    const pub = createPublicClient({ transport: http(anvil.rpcUrl) });
    const funded = privateKeyToAccount(ANVIL_KEYS[1]).address;
    expect(await pub.readContract({ address: d.contracts.SegmintToken, abi: segmintTokenAbi, functionName: 'balanceOf', args: [funded] })).toBeGreaterThanOrEqual(10_000n * 10n ** 18n);
  });

  it('--network base-sepolia refuses an RPC of another chain', async () => {
    const { code, out } = await runCli(['--network', 'base-sepolia', '--rpc-url', anvil.rpcUrl, '--out', join(dir, 'never.json')], { DEPLOYER_PRIVATE_KEY: ANVIL_KEYS[0] });
    expect(code).toBe(2);
    expect(out).toContain('is chain 31337, but base-sepolia is chain 84532');
  });

  it('--network base-sepolia deploys with the preset gas settings to a chain with its id, and refuses a base fee above the ceiling', async () => {
    // Blocks every second: the preset waits for 2 confirmations, which an automining anvil never gives.
    const l2 = await startAnvil({ chainId: NETWORKS['base-sepolia'].chainId, args: ['--block-time', '1'] });
    try {
      const low = await runCli(['--network', 'base-sepolia', '--rpc-url', l2.rpcUrl, '--max-fee-gwei', '0.000001', '--out', join(dir, 'never.json')], { DEPLOYER_PRIVATE_KEY: ANVIL_KEYS[0] });
      expect(low.code).toBe(2);
      expect(low.out).toMatch(/base fee on base-sepolia is [0-9.]+ gwei, above the ceiling of 0.000001 gwei/);
      const { code, out: log } = await runCli(['--network', 'base-sepolia', '--rpc-url', l2.rpcUrl], { DEPLOYER_PRIVATE_KEY: ANVIL_KEYS[0], SEGMINT_DEPLOYMENTS_DIR: dir });
      expect({ code, log }).toMatchObject({ code: 0 });
      expect(log).toContain(`${NETWORKS['base-sepolia'].explorer}/address/`);
      const d = await readDeployment(join(dir, 'base-sepolia.json'));
      expect(d).toMatchObject({ chainId: 84532, network: 'base-sepolia', explorer: NETWORKS['base-sepolia'].explorer });
      const pub = createPublicClient({ transport: http(l2.rpcUrl) });
      const txs = [];
      for (let n = 1n; n <= d.blockNumber; n++) txs.push(...(await pub.getBlock({ blockNumber: n, includeTransactions: true })).transactions);
      expect(txs.length).toBeGreaterThanOrEqual(4); // token, staking, broker, grantRole
      for (const tx of txs) {
        expect(tx.maxFeePerGas).toBe(NETWORKS['base-sepolia'].gas.maxFeePerGas);
        expect(tx.maxPriorityFeePerGas).toBe(NETWORKS['base-sepolia'].gas.maxPriorityFeePerGas);
      }
      const tx = txs[0]!;
      expect(tx.maxFeePerGas).toBe(NETWORKS['base-sepolia'].gas.maxFeePerGas);
      expect(tx.maxPriorityFeePerGas).toBe(NETWORKS['base-sepolia'].gas.maxPriorityFeePerGas);
    } finally {
      await l2.stop();
    }
  }, 180_000);

  it('refuses an unknown network and a public one without a deployer key', async () => {
    const unknown = await runCli(['--network', 'mainnet-please'], {});
    expect(unknown.code).toBe(2);
    expect(unknown.out).toContain('unknown network "mainnet-please": one of anvil, base-sepolia, arbitrum-sepolia');
    const nokey = await runCli(['--network', 'arbitrum-sepolia'], { DEPLOYER_PRIVATE_KEY: '', CHAIN_RPC_URL: '' });
    expect(nokey.code).toBe(2);
    expect(nokey.out).toContain('DEPLOYER_PRIVATE_KEY is required when deploying to arbitrum-sepolia');
  });

  it('refuses a given RPC URL without a deployer key', async () => {
    const { code, out } = await runCli(['--out', join(dir, 'never.json')], { CHAIN_RPC_URL: anvil.rpcUrl, DEPLOYER_PRIVATE_KEY: '' });
    expect(code).toBe(2);
    expect(out).toContain('DEPLOYER_PRIVATE_KEY is required');
  });
});
