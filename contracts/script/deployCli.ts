/**
 * `npm run --workspace contracts deploy [-- --rpc-url URL --out FILE]`
 *
 * Deploys SegmintToken, StakingManager and TicketBroker and writes the deployment JSON.
 * Without CHAIN_RPC_URL (or --rpc-url) it starts anvil on a free port, deploys with anvil's first
 * dev key, funds anvil accounts 1–4 with 10,000 SEG each, and keeps anvil running until Ctrl-C.
 *
 * Environment (flags override):
 *   CHAIN_RPC_URL          --rpc-url   chain to deploy to (default: start anvil)
 *   DEPLOYER_PRIVATE_KEY               required with CHAIN_RPC_URL; anvil's key 0 otherwise
 *   VERIFIER_ADDRESS       --verifier  gets VERIFIER_ROLE (default: the deployer)
 *   STAKE_TOKEN_ADDRESS    --token     stake with an existing ERC-20 instead of deploying one
 *   DEPLOYMENT_FILE        --out       default .data/deployment.json (relative to the cwd)
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Address, Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { ANVIL_KEYS, startAnvil, type Anvil } from './anvil.js';
import { deploySegmint } from './deploy.js';

const { values } = parseArgs({
  options: {
    'rpc-url': { type: 'string' },
    verifier: { type: 'string' },
    token: { type: 'string' },
    out: { type: 'string' },
  },
});

const rpcFromEnv = values['rpc-url'] ?? process.env.CHAIN_RPC_URL;
const outFile = resolve(values.out ?? process.env.DEPLOYMENT_FILE ?? '.data/deployment.json');
let anvil: Anvil | undefined;
if (!rpcFromEnv) {
  process.stderr.write('no CHAIN_RPC_URL: starting anvil…\n');
  anvil = await startAnvil();
}
const rpcUrl = rpcFromEnv ?? anvil!.rpcUrl;
const deployerKey = (process.env.DEPLOYER_PRIVATE_KEY ?? (anvil ? ANVIL_KEYS[0] : undefined)) as Hex | undefined;
if (!deployerKey) {
  process.stderr.write('DEPLOYER_PRIVATE_KEY is required when CHAIN_RPC_URL is given\n');
  process.exit(2);
}

const token = (values.token ?? process.env.STAKE_TOKEN_ADDRESS) as Address | undefined;
const demoAccounts = anvil ? ANVIL_KEYS.slice(1).map((k) => privateKeyToAccount(k).address) : [];
const deployment = await deploySegmint({
  rpcUrl,
  deployerKey,
  verifier: (values.verifier ?? process.env.VERIFIER_ADDRESS) as Address | undefined,
  token,
  fund: token ? [] : demoAccounts.map((address) => ({ address, tokens: 10_000n * 10n ** 18n })),
  outFile,
});

process.stdout.write(
  [
    `chain ${deployment.chainId} at ${rpcUrl}`,
    `SegmintToken   ${deployment.contracts.SegmintToken}${deployment.tokenDeployed ? '' : ' (existing)'}`,
    `StakingManager ${deployment.contracts.StakingManager}`,
    `TicketBroker   ${deployment.contracts.TicketBroker}`,
    `verifier       ${deployment.verifier}`,
    ...demoAccounts.map((a) => `funded         ${a} with 10000 SEG`),
    `wrote ${outFile}`,
    '',
  ].join('\n'),
);

if (anvil) {
  process.stdout.write(`anvil keeps running at ${rpcUrl}; Ctrl-C to stop\n`);
  const stop = () => void anvil!.stop().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
