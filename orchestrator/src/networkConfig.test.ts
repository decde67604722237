import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadOrchestratorConfig } from './config.js';

// SEGMINT_NETWORK: the chain settings come from the deployment file unless set explicitly.
let dir: string;
const staking = '0x5FbDB2315678afecb367f032d93F642f64180aa3';
const broker = '0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'segmint-network-'));
  const deployment = { chainId: 84532, rpcUrl: 'http://rpc.example:8545', contracts: { SegmintToken: staking, StakingManager: staking, TicketBroker: broker } };
  await writeFile(join(dir, 'base-sepolia.json'), JSON.stringify(deployment));
  await writeFile(join(dir, 'anvil.json'), JSON.stringify(deployment)); // chain 84532 is not anvil's
});

afterAll(() => rm(dir, { recursive: true, force: true }));

describe('SEGMINT_NETWORK', () => {
  it('fills in the RPC URL, chain id and contract addresses from SEGMINT_DEPLOYMENTS_DIR/NAME.json', () => {
    const c = loadOrchestratorConfig([], { SEGMINT_NETWORK: 'base-sepolia', SEGMINT_DEPLOYMENTS_DIR: dir });
    expect(c).toMatchObject({ chainRpcUrl: 'http://rpc.example:8545', chainId: 84532, stakingManager: staking });
    expect(c.payments.ticketBroker).toBe(broker);
  });

  it('lets a variable or flag set explicitly win, and treats an empty one as unset', () => {
    const c = loadOrchestratorConfig(['--network', 'base-sepolia', '--deployments-dir', dir], { CHAIN_RPC_URL: 'http://other-rpc:8545', SEGMINT_STAKING_MANAGER: '' });
    expect(c).toMatchObject({ chainRpcUrl: 'http://other-rpc:8545', chainId: 84532, stakingManager: staking });
  });

  it('refuses a network without a deployment file, naming the command that makes it', () => {
    expect(() => loadOrchestratorConfig([], { SEGMINT_NETWORK: 'arbitrum-sepolia', SEGMINT_DEPLOYMENTS_DIR: dir })).toThrow(ConfigError);
    expect(() => loadOrchestratorConfig([], { SEGMINT_NETWORK: 'arbitrum-sepolia', SEGMINT_DEPLOYMENTS_DIR: dir })).toThrow(
      'no deployment for network arbitrum-sepolia at ' + join(dir, 'arbitrum-sepolia.json') + ': run `npm run --workspace contracts deploy -- --network arbitrum-sepolia`',
    );
  });

  it('refuses a preset network whose file is for another chain, and a name that is not one', () => {
    expect(() => loadOrchestratorConfig([], { SEGMINT_NETWORK: 'anvil', SEGMINT_DEPLOYMENTS_DIR: dir })).toThrow('is for chain 84532, but anvil is chain 31337');
    expect(() => loadOrchestratorConfig([], { SEGMINT_NETWORK: '../etc/passwd', SEGMINT_DEPLOYMENTS_DIR: dir })).toThrow('SEGMINT_NETWORK must be a network name');
  });
});
