import { createPublicClient, http, type Address, type PublicClient } from 'viem';
import { stakingManagerAbi } from '@segmint/protocol';

/** Where a worker's stake and jail status come from. */
export interface StakeReader {
  read(worker: string): Promise<{ stake: bigint; jailed: boolean }>;
}

/** No chain configured (dev and demo without `CHAIN_RPC_URL`): nobody has stake, nobody is jailed. */
export class NoChainStake implements StakeReader {
  async read() {
    return { stake: 0n, jailed: false };
  }
}

/**
 * Caches another reader's answers for `ttlMs` (a chain read per segment would be far too slow;
 * stake changes take an unbonding period anyway). A failed read keeps the last good value.
 */
export class CachedStake implements StakeReader {
  private readonly cache = new Map<string, { value: { stake: bigint; jailed: boolean }; until: number }>();
  constructor(private readonly inner: StakeReader, private readonly ttlMs = 10_000) {}

  async read(worker: string) {
    const hit = this.cache.get(worker);
    if (hit && hit.until > Date.now()) return hit.value;
    try {
      const value = await this.inner.read(worker);
      this.cache.set(worker, { value, until: Date.now() + this.ttlMs });
      return value;
    } catch (err) {
      if (hit) return hit.value;
      throw err;
    }
  }
}

/** Reads StakingManager on the configured chain: bonded stake, and jailed until when. */
export class ChainStake implements StakeReader {
  private readonly client: PublicClient;
  constructor(rpcUrl: string, private readonly stakingManager: Address) {
    this.client = createPublicClient({ transport: http(rpcUrl, { timeout: 5_000, retryCount: 1 }) });
  }

  async read(worker: string) {
    const s = await this.client.readContract({ address: this.stakingManager, abi: stakingManagerAbi, functionName: 'getStake', args: [worker as Address] });
    return { stake: BigInt(s.bonded), jailed: Date.now() / 1000 < Number(s.jailedUntil) };
  }

  chainId(): Promise<number> {
    return this.client.getChainId();
  }
}
