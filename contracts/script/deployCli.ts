/**
 * `npm run --workspace contracts deploy [-- --network NAME] [-- --rpc-url URL --out FILE]`
 *
 * Deploys SegmintToken, StakingManager and TicketBroker and writes the deployment JSON.
 *
 * With `--network NAME` (anvil, base-sepolia, arbitrum-sepolia: protocol/src/contracts/networks.ts)
 * it deploys to that network's RPC (CHAIN_RPC_URL or --rpc-url override it), refuses an RPC of
 * another chain id, uses the preset's gas settings (refusing while the base fee is above its
 * ceiling; --max-fee-gwei raises it) and writes deploy/chains/NAME.json (SEGMINT_DEPLOYMENTS_DIR
 * or --out elsewhere), which the orchestrator and worker read with SEGMINT_NETWORK=NAME. anvil
 * uses anvil's key 0 and funds accounts 1–4 with 10,000 SEG unless DEPLOYER_PRIVATE_KEY is given.
 *
 * Without --network and without CHAIN_RPC_URL (or --rpc-url) it starts anvil on a free port,
 * deploys with anvil's first dev key, funds anvil accounts 1–4 with 10,000 SEG each, and keeps
 * anvil running until Ctrl-C.
 *
 * Environment (flags override):
 *   SEGMINT_NETWORK        --network       a preset (above)
 *   CHAIN_RPC_URL          --rpc-url       chain to deploy to (default: the preset's, else start anvil)
 *   DEPLOYER_PRIVATE_KEY                   required on a public network or a given RPC; anvil's key 0 otherwise
 *   VERIFIER_ADDRESS       --verifier      gets VERIFIER_ROLE (default: the deployer)
 *   STAKE_TOKEN_ADDRESS    --token         stake with an existing ERC-20 instead of deploying one
 *   DEPLOYMENT_FILE        --out           default deploy/chains/NAME.json with --network, else .data/deployment.json
 *   SEGMINT_DEPLOYMENTS_DIR                where --network files go (default deploy/chains)
 *                          --max-fee-gwei  gas ceiling instead of the preset's
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createPublicClient, formatGwei, http, parseGwei, type Address, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { deploymentPath, isNetworkName, NETWORKS, type NetworkPreset } from '@segmint/protocol';
import { ANVIL_KEYS, startAnvil, type Anvil } from './anvil.js';
import { deploySegmint } from './deploy.js';

const { values } = parseArgs({
  options: {
    network: { type: 'string' },
    'rpc-url': { type: 'string' },
    verifier: { type: 'string' },
    token: { type: 'string' },
    out: { type: 'string' },
    'max-fee-gwei': { type: 'string' },
  },
});

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

const networkName = values.network ?? process.env.SEGMINT_NETWORK ?? '';
if (networkName && !isNetworkName(networkName)) fail(`unknown network "${networkName}": one of ${Object.keys(NETWORKS).join(', ')}`);
const preset: NetworkPreset | undefined = networkName ? NETWORKS[networkName as keyof typeof NETWORKS] : undefined;
const isAnvil = networkName === 'anvil';

const rpcGiven = values['rpc-url'] || process.env.CHAIN_RPC_URL || undefined;
const outFile = resolve(values.out ?? process.env.DEPLOYMENT_FILE ?? (networkName ? deploymentPath(networkName, process.env.SEGMINT_DEPLOYMENTS_DIR) : '.data/deployment.json'));
let anvil: Anvil | undefined;
if (!rpcGiven && !preset) {
  process.stderr.write('no CHAIN_RPC_URL: starting anvil…\n');
  anvil = await startAnvil();
}
const rpcUrl = rpcGiven ?? preset?.rpcUrl ?? anvil!.rpcUrl;
const localChain = anvil !== undefined || isAnvil;
const deployerKey = (process.env.DEPLOYER_PRIVATE_KEY || (localChain ? ANVIL_KEYS[0] : undefined)) as Hex | undefined;
if (!deployerKey) fail(`DEPLOYER_PRIVATE_KEY is required when ${networkName ? `deploying to ${networkName}` : 'CHAIN_RPC_URL is given'}`);

const fees = preset ? await checkedFees(preset) : undefined;
const token = (values.token ?? process.env.STAKE_TOKEN_ADDRESS) as Address | undefined;
const demoAccounts = localChain && !process.env.DEPLOYER_PRIVATE_KEY ? ANVIL_KEYS.slice(1).map((k) => privateKeyToAccount(k).address) : [];
const deployment = await deploySegmint({
  rpcUrl,
  deployerKey,
  verifier: (values.verifier ?? process.env.VERIFIER_ADDRESS) as Address | undefined,
  token,
  fund: token ? [] : demoAccounts.map((address) => ({ address, tokens: 10_000n * 10n ** 18n })),
  outFile,
  ...(fees ? { fees } : {}),
  ...(preset ? { confirmations: preset.confirmations, network: networkName } : {}),
  ...(preset?.explorer ? { explorer: preset.explorer } : {}),
});

const link = (a: Address) => (preset?.explorer ? `  ${preset.explorer}/address/${a}` : '');
process.stdout.write(
  [
    `chain ${deployment.chainId}${networkName ? ` (${networkName})` : ''} at ${rpcUrl}`,
    `SegmintToken   ${deployment.contracts.SegmintToken}${deployment.tokenDeployed ? '' : ' (existing)'}${link(deployment.contracts.SegmintToken)}`,
    `StakingManager ${deployment.contracts.StakingManager}${link(deployment.contracts.StakingManager)}`,
    `TicketBroker   ${deployment.contracts.TicketBroker}${link(deployment.contracts.TicketBroker)}`,
    `verifier       ${deployment.verifier}`,
    ...demoAccounts.map((a) => `funded         ${a} with 10000 SEG`),
    `wrote ${outFile}`,
    ...(networkName ? [`orchestrator and worker: SEGMINT_NETWORK=${networkName}`] : []),
    '',
  ].join('\n'),
);

if (anvil) {
  process.stdout.write(`anvil keeps running at ${rpcUrl}; Ctrl-C to stop\n`);
  const stop = () => void anvil!.stop().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

/**
 * The RPC must be the preset's chain; with a gas ceiling, the current base fee must be under it
 * (a transaction capped below the base fee would wait forever).
 */
async function checkedFees(p: NetworkPreset): Promise<{ maxFeePerGas?: bigint; maxPriorityFeePerGas?: bigint }> {
  const pub = createPublicClient({ transport: http(rpcUrl, { timeout: 15_000 }) });
  const chainId = await pub.getChainId().catch((err: Error) => fail(`cannot reach ${rpcUrl}: ${err.message.split('\n')[0]}`));
  if (chainId !== p.chainId) fail(`${rpcUrl} is chain ${chainId}, but ${networkName} is chain ${p.chainId}: wrong --rpc-url / CHAIN_RPC_URL?`);
  const ceiling = values['max-fee-gwei'] ? parseGwei(values['max-fee-gwei']) : p.gas.maxFeePerGas;
  if (ceiling === undefined) return p.gas;
  const baseFee = (await pub.getBlock()).baseFeePerGas ?? 0n;
  if (baseFee > ceiling) fail(`base fee on ${networkName} is ${formatGwei(baseFee)} gwei, above the ceiling of ${formatGwei(ceiling)} gwei: wait, or raise it with --max-fee-gwei`);
  return { ...p.gas, maxFeePerGas: ceiling };
}
