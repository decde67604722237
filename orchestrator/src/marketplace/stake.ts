import { createPublicClient, http, type Address, type PublicClient } from 'viem';
import type { Logger } from 'pino';
import { stakingManagerAbi } from '@segmint/protocol';

/** A worker's stake as the auction sees it. `unavailable`: no value read recently enough (the chain is unreachable): the worker is excluded. */
export type StakeValue = { stake: bigint; jailed: boolean; unavailable?: true };

/** Where a worker's stake and jail status come from. */
export interface StakeReader {
  read(worker: string): Promise<StakeValue>;
}

/** No chain configured (dev and demo without `CHAIN_RPC_URL`): nobody has stake, nobody is jailed. */
export class NoChainStake implements StakeReader {
  async read() {
    return { stake: 0n, jailed: false };
  }
}

export type CachedStakeParameters = {
  /** A value this young is used without asking the chain. */
  ttlMs: number;
  /** After ttlMs, a value is still used for this much longer while reads fail (then the worker is excluded). */
  maxStaleMs: number;
  /** After a failed read, the chain is asked again for this worker no sooner than this (an auction never waits on a known-down RPC). */
  retryMs?: number;
  /** An auction waits at most this long for a worker's first read; the read goes on and counts for the next one. */
  waitMs?: number;
  logger?: Pick<Logger, 'warn' | 'info'>;
};

type Entry = { value: { stake: bigint; jailed: boolean }; at: number };

const UNAVAILABLE: StakeValue = { stake: 0n, jailed: false, unavailable: true };

/**
 * Caches another reader's answers (a chain read per segment would be far too slow; stake changes
 * take an unbonding period anyway) and degrades when the chain is unreachable, never throwing:
 * - younger than ttlMs: used as is;
 * - older, up to ttlMs + maxStaleMs: used at once while a read refreshes it in the background
 *   (the last known value bridges an RPC outage);
 * - older still, or never read: the auction waits (at most waitMs) for a read; if that fails, the
 *   worker is reported `unavailable` and the auction excludes it until a read succeeds.
 * A worker whose read just failed is not asked again for retryMs. Each outage is logged once per
 * worker (warn), and its end too (info).
 */
export class CachedStake implements StakeReader {
  private readonly cache = new Map<string, Entry>();
  private readonly reading = new Map<string, Promise<Entry | null>>();
  private readonly failedAt = new Map<string, number>();
  private readonly o: Required<Omit<CachedStakeParameters, 'logger'>> & Pick<CachedStakeParameters, 'logger'>;

  constructor(private readonly inner: StakeReader, o: CachedStakeParameters) {
    this.o = { retryMs: 1_000, waitMs: 2_000, ...o };
  }

  async read(worker: string): Promise<StakeValue> {
    const hit = this.cache.get(worker);
    const age = hit ? Date.now() - hit.at : Infinity;
    if (hit && age < this.o.ttlMs) return hit.value;
    if (hit && age < this.o.ttlMs + this.o.maxStaleMs) {
      void this.refresh(worker);
      return hit.value;
    }
    const read = await Promise.race([this.refresh(worker), sleep(this.o.waitMs).then(() => null)]);
    return read?.value ?? UNAVAILABLE;
  }

  /** One read per worker at a time; null when it failed (or failed less than retryMs ago). */
  private refresh(worker: string): Promise<Entry | null> {
    const running = this.reading.get(worker);
    if (running) return running;
    const failed = this.failedAt.get(worker);
    if (failed !== undefined && Date.now() - failed < this.o.retryMs) return Promise.resolve(null);
    const read = this.inner.read(worker).then(
      (value) => {
        const entry = { value: { stake: value.stake, jailed: value.jailed }, at: Date.now() };
        this.cache.set(worker, entry);
        if (this.failedAt.delete(worker)) this.o.logger?.info({ worker }, 'stake read works again');
        return entry;
      },
      (err: Error) => {
        if (!this.failedAt.has(worker)) this.logFailure(worker, err);
        this.failedAt.set(worker, Date.now());
        return null;
      },
    ).finally(() => this.reading.delete(worker));
    this.reading.set(worker, read);
    return read;
  }

  private logFailure(worker: string, err: Error): void {
    const hit = this.cache.get(worker);
    const reason = err.message.split('\n')[0];
    if (!hit) return void this.o.logger?.warn({ worker, reason }, 'stake read failed and no value is known: the worker wins nothing until a read succeeds');
    const usableForMs = Math.max(0, hit.at + this.o.ttlMs + this.o.maxStaleMs - Date.now());
    this.o.logger?.warn({ worker, reason, lastReadMsAgo: Date.now() - hit.at, usableForMs }, 'stake read failed: using the last known value, then excluding the worker');
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

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
