/**
 * Chain presets for `npm run --workspace contracts deploy -- --network NAME`, and where each
 * network's deployment file lives: the orchestrator and the worker read it by name
 * (SEGMINT_NETWORK=NAME) instead of being given every address.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { arbitrumSepolia, baseSepolia } from 'viem/chains';

export type NetworkPreset = {
  chainId: number;
  /** Default JSON-RPC URL (CHAIN_RPC_URL or --rpc-url overrides it). */
  rpcUrl: string;
  /** Block explorer; none for a local chain. */
  explorer?: string;
  /** EIP-1559 fees of deployment transactions: ceiling (refused above) and tip, wei per gas. */
  gas: { maxFeePerGas?: bigint; maxPriorityFeePerGas?: bigint };
  /** Blocks to wait for after each transaction. */
  confirmations: number;
};

const GWEI = 10n ** 9n;

/**
 * anvil: the local dev chain (anvil's own id and port). The two L2 test networks take their chain
 * id, public RPC and explorer from viem's chain list; the gas ceiling (5 gwei) is far above what
 * either charged when written (Base Sepolia ~0.001 gwei, Arbitrum Sepolia's 0.1 gwei floor), so it
 * only stops a deployment during a fee spike. Arbitrum ignores tips; Base's sequencer orders by
 * them, so a small one.
 */
export const NETWORKS = {
  anvil: { chainId: 31337, rpcUrl: 'http://127.0.0.1:8545', gas: {}, confirmations: 1 },
  'base-sepolia': {
    chainId: baseSepolia.id,
    rpcUrl: baseSepolia.rpcUrls.default.http[0],
    explorer: baseSepolia.blockExplorers.default.url,
    gas: { maxFeePerGas: 5n * GWEI, maxPriorityFeePerGas: GWEI / 1000n },
    confirmations: 2,
  },
  'arbitrum-sepolia': {
    chainId: arbitrumSepolia.id,
    rpcUrl: arbitrumSepolia.rpcUrls.default.http[0],
    explorer: arbitrumSepolia.blockExplorers.default.url,
    gas: { maxFeePerGas: 5n * GWEI, maxPriorityFeePerGas: 0n },
    confirmations: 2,
  },
} as const satisfies Record<string, NetworkPreset>;

export type NetworkName = keyof typeof NETWORKS;

export const isNetworkName = (name: string): name is NetworkName => Object.hasOwn(NETWORKS, name);

/** deploy/chains in this repository: where `deploy --network NAME` writes NAME.json. */
export const DEFAULT_DEPLOYMENTS_DIR = resolve(import.meta.dirname, '../../../deploy/chains');

export const deploymentPath = (network: string, dir?: string) => join(dir || DEFAULT_DEPLOYMENTS_DIR, `${network}.json`);

export class NetworkDeploymentError extends Error {
  override name = 'NetworkDeploymentError';
}

/**
 * The environment a deployment file stands for: CHAIN_RPC_URL, SEGMINT_CHAIN_ID,
 * SEGMINT_STAKING_MANAGER and SEGMINT_TICKET_BROKER of network `name`. Callers put their own
 * environment over it, so a variable set explicitly wins (e.g. another RPC URL for the same chain).
 * @example
 * const env = { ...networkEnv('anvil'), ...process.env };
 */
export function networkEnv(name: string, dir?: string): Record<string, string> {
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(name)) throw new NetworkDeploymentError(`SEGMINT_NETWORK must be a network name like base-sepolia (got "${name}")`);
  const path = deploymentPath(name, dir);
  let raw: string;
  try {
    raw = readFileSync(path, 'utf8');
  } catch {
    throw new NetworkDeploymentError(`no deployment for network ${name} at ${path}: run \`npm run --workspace contracts deploy -- --network ${name}\` (or set SEGMINT_DEPLOYMENTS_DIR)`);
  }
  const d = JSON.parse(raw) as { chainId?: unknown; rpcUrl?: unknown; contracts?: { StakingManager?: unknown; TicketBroker?: unknown } };
  const address = (v: unknown) => typeof v === 'string' && /^0x[0-9a-fA-F]{40}$/.test(v);
  if (!Number.isInteger(d.chainId) || typeof d.rpcUrl !== 'string' || !address(d.contracts?.StakingManager) || !address(d.contracts?.TicketBroker)) {
    throw new NetworkDeploymentError(`${path} is not a deployment file (chainId, rpcUrl, contracts.StakingManager, contracts.TicketBroker)`);
  }
  if (isNetworkName(name) && NETWORKS[name].chainId !== d.chainId) {
    throw new NetworkDeploymentError(`${path} is for chain ${String(d.chainId)}, but ${name} is chain ${NETWORKS[name].chainId}`);
  }
  return {
    CHAIN_RPC_URL: d.rpcUrl,
    SEGMINT_CHAIN_ID: String(d.chainId),
    SEGMINT_STAKING_MANAGER: d.contracts!.StakingManager as string,
    SEGMINT_TICKET_BROKER: d.contracts!.TicketBroker as string,
  };
}
