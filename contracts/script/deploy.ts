/** Deploys SegmintToken (unless an existing ERC-20 is given), StakingManager and TicketBroker. */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  createPublicClient,
  createWalletClient,
  getAddress,
  http,
  type Abi,
  type Address,
  type Hex,
  type PublicClient,
  type WalletClient,
  type Account,
  type Chain,
  type Transport,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { chainAt, segmintTokenAbi, stakingManagerAbi, ticketBrokerAbi } from '@segmint/protocol';
import { segmintTokenBytecode, stakingManagerBytecode, ticketBrokerBytecode } from './bytecode.generated.js';

export type StakingParams = {
  /** Seconds between unbond and withdraw. */
  unbondingPeriod: bigint;
  /** Seconds a slashed worker stays jailed. */
  jailPeriod: bigint;
  /** Share of stake one slash takes, basis points. */
  slashBps: number;
  /** Share of a slash paid to the challenger, basis points (rest burned). */
  challengerRewardBps: number;
  /** Stake (token wei) needed to register and win jobs. */
  minStake: bigint;
};

export type BrokerParams = {
  /** Seconds between unlock and withdraw. */
  unlockPeriod: bigint;
  /** Number of equal reserve shares. */
  reserveRecipients: bigint;
};

export const DEFAULT_STAKING_PARAMS: StakingParams = {
  unbondingPeriod: 7n * 86_400n,
  jailPeriod: 3n * 86_400n,
  slashBps: 1_000,
  challengerRewardBps: 5_000,
  minStake: 100n * 10n ** 18n,
};

export const DEFAULT_BROKER_PARAMS: BrokerParams = { unlockPeriod: 86_400n, reserveRecipients: 10n };

export type DeploySegmintParameters = {
  rpcUrl: string;
  /** Pays for the deployment, owns the token (mints) and administers the staking roles. */
  deployerKey: Hex;
  /** Gets VERIFIER_ROLE on the StakingManager; default: the deployer. */
  verifier?: Address;
  /** Stake with this ERC-20 instead of deploying SegmintToken (production). */
  token?: Address;
  staking?: Partial<StakingParams>;
  broker?: Partial<BrokerParams>;
  /** Demo accounts to give ETH and/or minted stake tokens (minting needs our own token). */
  fund?: { address: Address; eth?: bigint; tokens?: bigint }[];
  /** Write the deployment JSON here. */
  outFile?: string;
  /** EIP-1559 fees of every transaction (a network preset's gas settings); default: the node's estimate. */
  fees?: { maxFeePerGas?: bigint; maxPriorityFeePerGas?: bigint };
  /** Blocks to wait for after each transaction; default 1. */
  confirmations?: number;
  /** Network preset name and explorer, recorded in the file. */
  network?: string;
  explorer?: string;
};

export type Deployment = {
  chainId: number;
  rpcUrl: string;
  deployer: Address;
  verifier: Address;
  /** Block of the last deployment transaction: start indexing events here. */
  blockNumber: bigint;
  contracts: { SegmintToken: Address; StakingManager: Address; TicketBroker: Address };
  /** true when SegmintToken was deployed here (false: an existing ERC-20 was given). */
  tokenDeployed: boolean;
  staking: StakingParams;
  broker: BrokerParams;
  /** The preset deployed with `--network NAME`, and its block explorer. */
  network?: string;
  explorer?: string;
};

export type DeploySegmintReturnType = Deployment;
export type DeploySegmintErrorType = Error;

type Fees = { maxFeePerGas?: bigint; maxPriorityFeePerGas?: bigint };
type Clients = { wallet: WalletClient<Transport, Chain | undefined, Account>; pub: PublicClient; fees: Fees; confirmations: number };

/**
 * Deploys the three contracts and waits for each receipt.
 * @example
 * const anvil = await startAnvil();
 * const d = await deploySegmint({ rpcUrl: anvil.rpcUrl, deployerKey: ANVIL_KEYS[0] });
 * d.contracts.TicketBroker; // address
 */
export async function deploySegmint(params: DeploySegmintParameters): Promise<DeploySegmintReturnType> {
  const account = privateKeyToAccount(params.deployerKey);
  const pub = createPublicClient({ transport: http(params.rpcUrl) });
  const chainId = await pub.getChainId();
  const chain = chainAt(chainId, params.rpcUrl);
  const wallet = createWalletClient({ account, chain, transport: http(params.rpcUrl) });
  const c: Clients = { wallet, pub: pub as PublicClient, fees: params.fees ?? {}, confirmations: params.confirmations ?? 1 };
  const fees = c.fees;
  const staking: StakingParams = { ...DEFAULT_STAKING_PARAMS, ...params.staking };
  const broker: BrokerParams = { ...DEFAULT_BROKER_PARAMS, ...params.broker };
  const verifier = params.verifier ?? account.address;

  const token = params.token ?? (await deploy(c, segmintTokenAbi, segmintTokenBytecode, [account.address]));
  const stakingAddress = await deploy(c, stakingManagerAbi, stakingManagerBytecode, [
    token,
    {
      unbondingPeriod: staking.unbondingPeriod,
      jailPeriod: staking.jailPeriod,
      slashBps: staking.slashBps,
      challengerRewardBps: staking.challengerRewardBps,
      minStake: staking.minStake,
    },
    account.address,
  ]);
  const brokerAddress = await deploy(c, ticketBrokerAbi, ticketBrokerBytecode, [broker.unlockPeriod, broker.reserveRecipients]);

  const role = await pub.readContract({ address: stakingAddress, abi: stakingManagerAbi, functionName: 'VERIFIER_ROLE' });
  await send(c, wallet.writeContract({ address: stakingAddress, abi: stakingManagerAbi, functionName: 'grantRole', args: [role, verifier], ...fees }));

  for (const f of params.fund ?? []) {
    if (f.eth) await send(c, wallet.sendTransaction({ to: f.address, value: f.eth, ...fees }));
    if (f.tokens) {
      if (params.token) throw new Error('cannot mint an existing token: fund accounts with it yourself');
      await send(c, wallet.writeContract({ address: token, abi: segmintTokenAbi, functionName: 'mint', args: [f.address, f.tokens], ...fees }));
    }
  }

  const deployment: Deployment = {
    chainId,
    rpcUrl: params.rpcUrl,
    deployer: account.address,
    verifier,
    blockNumber: await pub.getBlockNumber(),
    contracts: { SegmintToken: token, StakingManager: stakingAddress, TicketBroker: brokerAddress },
    tokenDeployed: params.token === undefined,
    staking,
    broker,
    ...(params.network ? { network: params.network } : {}),
    ...(params.explorer ? { explorer: params.explorer } : {}),
  };
  if (params.outFile) await writeDeployment(params.outFile, deployment);
  return deployment;
}

/** Writes a deployment as JSON (bigints as decimal strings). */
export async function writeDeployment(path: string, deployment: Deployment): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const json = JSON.stringify(deployment, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2);
  await writeFile(path, `${json}\n`);
}

/** Reads a deployment file written by `writeDeployment` (decimal strings back to bigints). */
export async function readDeployment(path: string): Promise<Deployment> {
  const raw = JSON.parse(await readFile(path, 'utf8')) as Deployment & Record<string, unknown>;
  const big = (v: unknown) => BigInt(v as string);
  return {
    ...raw,
    blockNumber: big(raw.blockNumber),
    staking: {
      ...raw.staking,
      unbondingPeriod: big(raw.staking.unbondingPeriod),
      jailPeriod: big(raw.staking.jailPeriod),
      minStake: big(raw.staking.minStake),
    },
    broker: { unlockPeriod: big(raw.broker.unlockPeriod), reserveRecipients: big(raw.broker.reserveRecipients) },
  };
}

async function deploy(c: Clients, abi: Abi, bytecode: Hex, args: readonly unknown[]): Promise<Address> {
  // Generic over three ABIs: viem's constructor-args inference needs a literal ABI, so loosen it here.
  const hash = await c.wallet.deployContract({ abi, bytecode, args, ...c.fees } as unknown as Parameters<typeof c.wallet.deployContract>[0]);
  const receipt = await c.pub.waitForTransactionReceipt({ hash, confirmations: c.confirmations });
  if (receipt.status !== 'success' || !receipt.contractAddress) throw new Error(`deployment reverted (${hash})`);
  return getAddress(receipt.contractAddress);
}

async function send(c: Clients, tx: Promise<Hex>): Promise<void> {
  const hash = await tx;
  const receipt = await c.pub.waitForTransactionReceipt({ hash, confirmations: c.confirmations });
  if (receipt.status !== 'success') throw new Error(`transaction reverted (${hash})`);
}
