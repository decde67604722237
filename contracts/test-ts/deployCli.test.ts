/** The deploy CLI against a running anvil: deploys, grants the verifier role, writes the file. */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPublicClient, getAddress, http } from 'viem';
import { stakingManagerAbi } from '@segmint/protocol';
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

  it('refuses a given RPC URL without a deployer key', async () => {
    const { code, out } = await runCli(['--out', join(dir, 'never.json')], { CHAIN_RPC_URL: anvil.rpcUrl, DEPLOYER_PRIVATE_KEY: '' });
    expect(code).toBe(2);
    expect(out).toContain('DEPLOYER_PRIVATE_KEY is required');
  });
});
