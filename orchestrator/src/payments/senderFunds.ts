import { createPublicClient, createWalletClient, http, type Address, type PublicClient, type WalletClient } from 'viem';
import { privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts';
import { chainAt, ticketBrokerAbi } from '@segmint/protocol';

export type Funds = { deposit: bigint; reserve: bigint; unlocking: boolean };

/**
 * The sender's money on TicketBroker: reads it (cached briefly: one read per result would be too
 * slow) and tops deposit and reserve up to their targets when either falls below half.
 */
export class SenderFunds {
  readonly account: PrivateKeyAccount;
  private readonly client: PublicClient;
  private readonly wallet: WalletClient;
  private cached: { funds: Funds; at: number } | null = null;
  private readonly claimable = new Map<string, { value: bigint; at: number }>();
  private topping: Promise<void> | null = null;

  constructor(
    private readonly o: { rpcUrl: string; chainId: number; broker: Address; key: `0x${string}`; deposit: bigint; reserve: bigint; cacheMs?: number },
  ) {
    this.account = privateKeyToAccount(o.key);
    const chain = chainAt(o.chainId, o.rpcUrl);
    this.client = createPublicClient({ chain, transport: http(o.rpcUrl, { timeout: 10_000, retryCount: 1 }) });
    this.wallet = createWalletClient({ chain, account: this.account, transport: http(o.rpcUrl, { timeout: 10_000, retryCount: 1 }) });
  }

  get address(): Address {
    return this.account.address;
  }

  async chainId(): Promise<number> {
    return this.client.getChainId();
  }

  /** Deposit, reserve and unlock state (cached `cacheMs`, default 2 s). */
  async funds(fresh = false): Promise<Funds> {
    if (!fresh && this.cached && Date.now() - this.cached.at < (this.o.cacheMs ?? 2000)) return this.cached.funds;
    const s = await this.client.readContract({ address: this.o.broker, abi: ticketBrokerAbi, functionName: 'getSender', args: [this.address] });
    const funds = { deposit: BigInt(s.deposit), reserve: BigInt(s.reserve), unlocking: BigInt(s.withdrawAfter) !== 0n };
    this.cached = { funds, at: Date.now() };
    return funds;
  }

  /** What a winning ticket to `recipient` could draw now: deposit + the recipient's reserve share. */
  async available(recipient: Address): Promise<bigint> {
    const { deposit } = await this.funds();
    const hit = this.claimable.get(recipient);
    let share = hit && Date.now() - hit.at < (this.o.cacheMs ?? 2000) ? hit.value : undefined;
    if (share === undefined) {
      share = await this.client.readContract({ address: this.o.broker, abi: ticketBrokerAbi, functionName: 'claimableReserve', args: [this.address, recipient] });
      this.claimable.set(recipient, { value: share, at: Date.now() });
    }
    return deposit + share;
  }

  /**
   * Funds deposit and reserve up to their targets if either is below half of it (one top-up at a
   * time). Returns what was added. A sender that is unlocking is not topped up (that would cancel
   * the unlock an operator asked for).
   */
  async topUp(): Promise<{ deposit: bigint; reserve: bigint }> {
    while (this.topping) await this.topping;
    let added = { deposit: 0n, reserve: 0n };
    this.topping = (async () => {
      const f = await this.funds(true);
      if (f.unlocking) return;
      const deposit = f.deposit * 2n < this.o.deposit ? this.o.deposit - f.deposit : 0n;
      const reserve = f.reserve * 2n < this.o.reserve ? this.o.reserve - f.reserve : 0n;
      if (deposit === 0n && reserve === 0n) return;
      const hash = await this.wallet.writeContract({
        address: this.o.broker, abi: ticketBrokerAbi, functionName: 'fundDepositAndReserve',
        args: [deposit, reserve], value: deposit + reserve, account: this.account, chain: this.wallet.chain,
      });
      const receipt = await this.client.waitForTransactionReceipt({ hash, timeout: 60_000 });
      if (receipt.status !== 'success') throw new Error(`funding the TicketBroker reverted (tx ${hash})`);
      added = { deposit, reserve };
      this.cached = null;
      this.claimable.clear();
    })().finally(() => {
      this.topping = null;
    });
    await this.topping;
    return added;
  }
}
