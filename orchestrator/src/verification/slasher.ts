import { createPublicClient, createWalletClient, http, type Address, type Hash, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { chainAt, stakingManagerAbi, type SlashEvidence } from '@segmint/protocol';

/**
 * Submits spot-check evidence to StakingManager.slash with an account holding VERIFIER_ROLE. The
 * contract checks everything itself (the worker's signature over the committed root, the leaf's
 * proof, that the hashes differ, that this offence was not slashed before); the challenger's
 * reward goes to this account.
 */
export class Slasher {
  private readonly account;
  private readonly pub;
  private readonly wallet;

  constructor(rpcUrl: string, chainId: number, private readonly stakingManager: Address, verifierKey: Hex) {
    this.account = privateKeyToAccount(verifierKey);
    const chain = chainAt(chainId, rpcUrl);
    this.pub = createPublicClient({ chain, transport: http(rpcUrl) });
    this.wallet = createWalletClient({ account: this.account, chain, transport: http(rpcUrl) });
  }

  get address(): Address {
    return this.account.address;
  }

  private queue: Promise<unknown> = Promise.resolve();

  /**
   * Simulates first (a revert names its reason without spending gas), then sends and waits. One
   * at a time: concurrent slashes from one account would race for the same nonce.
   */
  slash(worker: string, evidence: SlashEvidence): Promise<{ tx: Hash; blockNumber: bigint }> {
    const run = this.queue.then(() => this.send(worker, evidence));
    this.queue = run.catch(() => {});
    return run;
  }

  private async send(worker: string, evidence: SlashEvidence): Promise<{ tx: Hash; blockNumber: bigint }> {
    const { request } = await this.pub.simulateContract({
      account: this.account,
      address: this.stakingManager,
      abi: stakingManagerAbi,
      functionName: 'slash',
      args: [worker as Address, evidence],
    });
    const tx = await this.wallet.writeContract(request);
    const receipt = await this.pub.waitForTransactionReceipt({ hash: tx });
    if (receipt.status !== 'success') throw new Error(`slash transaction ${tx} reverted`);
    return { tx, blockNumber: receipt.blockNumber };
  }
}
