import { createPublicClient, createWalletClient, erc20Abi, formatUnits, http, type Address, type Hash } from 'viem';
import type { PrivateKeyAccount } from 'viem/accounts';
import { chainAt, stakingManagerAbi } from '@segmint/protocol';

export type StakeParameters = {
  rpcUrl: string;
  stakingManager: Address;
  account: PrivateKeyAccount;
  /** Token units (wei of the stake token). */
  amount: bigint;
  onProgress?: (line: string) => void;
};

export type StakeInfo = { bonded: bigint; unbonding: bigint; jailedUntil: number; balance: bigint; symbol: string; decimals: number };

/** A named failure the CLI turns into advice. */
export class StakeError extends Error {
  override name = 'StakeError';
}

async function clients(rpcUrl: string, account?: PrivateKeyAccount) {
  const pub = createPublicClient({ transport: http(rpcUrl, { timeout: 10_000 }) });
  let chainId: number;
  try {
    chainId = await pub.getChainId();
  } catch (err) {
    throw new StakeError(`cannot reach the chain at ${rpcUrl} (${(err as Error).message.split('\n')[0]}): check CHAIN_RPC_URL`);
  }
  const chain = chainAt(chainId, rpcUrl);
  return { pub, wallet: account ? createWalletClient({ account, chain, transport: http(rpcUrl) }) : undefined };
}

/** The worker's stake as StakingManager has it, and its stake-token balance. */
export async function readStake(rpcUrl: string, stakingManager: Address, worker: Address): Promise<StakeInfo> {
  const { pub } = await clients(rpcUrl);
  const token = await pub.readContract({ address: stakingManager, abi: stakingManagerAbi, functionName: 'token' });
  const [s, balance, symbol, decimals] = await Promise.all([
    pub.readContract({ address: stakingManager, abi: stakingManagerAbi, functionName: 'getStake', args: [worker] }),
    pub.readContract({ address: token, abi: erc20Abi, functionName: 'balanceOf', args: [worker] }),
    pub.readContract({ address: token, abi: erc20Abi, functionName: 'symbol' }),
    pub.readContract({ address: token, abi: erc20Abi, functionName: 'decimals' }),
  ]);
  return { bonded: BigInt(s.bonded), unbonding: BigInt(s.unbonding), jailedUntil: Number(s.jailedUntil), balance, symbol, decimals };
}

/**
 * Bonds `amount` of the stake token on StakingManager: approve (only what is missing), then bond,
 * each transaction waited for, progress reported. Fails early with advice when the balance is short.
 */
export async function bondStake(p: StakeParameters): Promise<StakeInfo> {
  const say = p.onProgress ?? (() => {});
  const { pub, wallet } = await clients(p.rpcUrl, p.account);
  const me = p.account.address;
  const token = await pub.readContract({ address: p.stakingManager, abi: stakingManagerAbi, functionName: 'token' });
  const before = await readStake(p.rpcUrl, p.stakingManager, me);
  const fmt = (v: bigint) => `${formatUnits(v, before.decimals)} ${before.symbol}`;
  if (p.amount <= 0n) throw new StakeError('the amount to stake must be above 0');
  if (before.balance < p.amount) throw new StakeError(`${me} holds ${fmt(before.balance)}, not ${fmt(p.amount)}: get stake tokens first`);
  if ((await pub.getBalance({ address: me })) === 0n) throw new StakeError(`${me} has no ETH to pay gas: fund it first`);

  const wait = async (what: string, hash: Hash) => {
    say(`${what}: sent ${hash}, waiting for it to be mined…`);
    const receipt = await pub.waitForTransactionReceipt({ hash });
    if (receipt.status !== 'success') throw new StakeError(`${what} reverted (tx ${hash})`);
    say(`${what}: mined in block ${receipt.blockNumber}`);
  };
  const allowance = await pub.readContract({ address: token, abi: erc20Abi, functionName: 'allowance', args: [me, p.stakingManager] });
  if (allowance < p.amount) {
    say(`1/2 approve ${fmt(p.amount)} for StakingManager ${p.stakingManager}`);
    await wait('approve', await wallet!.writeContract({ address: token, abi: erc20Abi, functionName: 'approve', args: [p.stakingManager, p.amount] }));
  } else say('1/2 approve: allowance already enough');
  say(`2/2 bond ${fmt(p.amount)}`);
  await wait('bond', await wallet!.writeContract({ address: p.stakingManager, abi: stakingManagerAbi, functionName: 'bond', args: [p.amount] }));
  return readStake(p.rpcUrl, p.stakingManager, me);
}
