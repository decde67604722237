import {
  createPublicClient, createWalletClient, decodeErrorResult, decodeEventLog, http,
  type Address, type Hex, type PublicClient, type WalletClient,
} from 'viem';
import type { PrivateKeyAccount } from 'viem/accounts';
import type { Logger } from 'pino';
import { chainAt, ticketBrokerAbi } from '@segmint/protocol';
import type { Fate, FateRecord, TicketStore, WinRecord } from './ticketStore.js';

export type RedeemerOptions = {
  store: TicketStore;
  account: PrivateKeyAccount;
  rpcUrl: string;
  chainId: number;
  broker: Address;
  /** Wei per gas above which redemption waits (unless a ticket or the sender's funds would be lost by waiting). */
  maxGasPrice: bigint;
  batchSize?: number;
  /** Retries of one batch's transaction before giving up until the next round. */
  attempts?: number;
  backoffMs?: number;
  /** Redeem now whatever the gas price when a ticket expires within this many seconds. */
  urgentSec?: number;
  logger?: Pick<Logger, 'info' | 'warn'>;
  /** Told after each scheduled round (`start`): ok with the fates it appended, or failed. */
  onRound?: (outcome: 'ok' | 'failed', fates: FateRecord[]) => void;
};

export type RedeemProgress = { batch: number; batches: number; tickets: number; tx?: Hex; redeemed: number; skipped: number; message: string };

const NONCE_ERROR = /nonce too low|nonce has already been used|replacement transaction underpriced|already known|nonce too high|invalid nonce/i;

/**
 * Redeems winning tickets from the TicketStore in batches (`batchRedeemWinningTickets`: one bad
 * ticket never blocks the others) and appends each ticket's fate: redeemed, already-redeemed,
 * expired or invalid; a ticket the sender cannot pay right now stays pending. Waits while gas is
 * above `maxGasPrice`, except when waiting would lose money: a ticket about to expire, or a sender
 * that started to unlock (its funds leave when the unlock period ends). Nonce conflicts (another
 * transaction from the same key, e.g. `worker stake`) are retried with a fresh nonce; other
 * failures back off exponentially.
 */
export class Redeemer {
  private readonly client: PublicClient;
  private readonly wallet: WalletClient;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;

  constructor(private readonly o: RedeemerOptions) {
    const chain = chainAt(o.chainId, o.rpcUrl);
    this.client = createPublicClient({ chain, transport: http(o.rpcUrl, { timeout: 15_000, retryCount: 1 }) });
    this.wallet = createWalletClient({ chain, account: o.account, transport: http(o.rpcUrl, { timeout: 15_000, retryCount: 1 }) });
  }

  /** Runs a round now and then every `intervalMs`. */
  start(intervalMs: number): void {
    const tick = () => {
      if (this.running) return;
      this.running = this.runOnce()
        .then((fates) => this.o.onRound?.('ok', fates))
        .catch((err) => {
          this.o.logger?.warn({ err: (err as Error).message }, 'redemption round failed; will retry');
          this.o.onRound?.('failed', []);
        })
        .finally(() => (this.running = null));
    };
    tick();
    this.timer = setInterval(tick, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** Whether a sender has started to unlock (its money leaves after the unlock period). */
  private async unlocking(sender: Address): Promise<boolean> {
    const s = await this.client.readContract({ address: this.o.broker, abi: ticketBrokerAbi, functionName: 'getSender', args: [sender] });
    return BigInt(s.withdrawAfter) !== 0n;
  }

  /** One round: redeems every pending winner it should now. Returns the fates it appended. */
  async runOnce(onProgress?: (p: RedeemProgress) => void): Promise<FateRecord[]> {
    await this.o.store.reload();
    const now = Math.floor(Date.now() / 1000);
    const pending = this.o.store.pending().filter((w) => w.broker.toLowerCase() === this.o.broker.toLowerCase() && w.chainId === this.o.chainId);
    if (pending.length === 0) return [];
    const fates: FateRecord[] = [];
    const expired = pending.filter((w) => Number(w.ticket.expiry) < now);
    if (expired.length) {
      const recs = expired.map((w): FateRecord => ({ t: 'fate', hash: w.hash, fate: 'expired', reason: 'expired before it was redeemed', at: Date.now() }));
      await this.o.store.append(recs);
      fates.push(...recs);
    }
    const live = pending.filter((w) => Number(w.ticket.expiry) >= now);
    if (live.length === 0) return fates;
    const gasPrice = await this.client.getGasPrice();
    if (gasPrice > this.o.maxGasPrice) {
      const urgentBy = now + (this.o.urgentSec ?? 3600);
      const senders = [...new Set(live.map((w) => w.ticket.sender))];
      const unlocking = new Set<string>();
      for (const s of senders) if (await this.unlocking(s)) unlocking.add(s);
      const urgent = live.filter((w) => Number(w.ticket.expiry) < urgentBy || unlocking.has(w.ticket.sender));
      this.o.logger?.info({ gasPrice: gasPrice.toString(), maxGasPrice: this.o.maxGasPrice.toString(), pending: live.length, urgent: urgent.length }, 'gas above MAX_GAS_PRICE: redeeming only what cannot wait');
      if (urgent.length === 0) return fates;
      live.splice(0, live.length, ...urgent);
    }
    const size = this.o.batchSize ?? 20;
    const batches = Math.ceil(live.length / size);
    for (let b = 0; b < batches; b++) {
      const chunk = live.slice(b * size, (b + 1) * size);
      const out = await this.redeemBatch(chunk);
      fates.push(...out.fates);
      const redeemed = out.fates.filter((f) => f.fate === 'redeemed').length;
      onProgress?.({
        batch: b + 1, batches, tickets: chunk.length, tx: out.tx, redeemed, skipped: chunk.length - redeemed,
        message: `batch ${b + 1}/${batches}: ${chunk.length} tickets, tx ${out.tx ?? '-'}: ${redeemed} redeemed, ${out.fates.length - redeemed} settled otherwise, ${chunk.length - out.fates.length} still pending`,
      });
    }
    return fates;
  }

  private async redeemBatch(chunk: WinRecord[]): Promise<{ tx?: Hex; fates: FateRecord[] }> {
    const args = [
      chunk.map((w) => ({
        recipient: w.ticket.recipient, sender: w.ticket.sender, faceValue: BigInt(w.ticket.faceValue), winProb: BigInt(w.ticket.winProb),
        senderNonce: BigInt(w.ticket.senderNonce), recipientRandHash: w.ticket.recipientRandHash, expiry: BigInt(w.ticket.expiry),
      })),
      chunk.map((w) => w.signature),
      chunk.map((w) => BigInt(w.recipientRand)),
    ] as const;
    const attempts = this.o.attempts ?? 5;
    let delay = this.o.backoffMs ?? 500;
    let lastErr: unknown;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        const nonce = await this.client.getTransactionCount({ address: this.o.account.address, blockTag: 'pending' });
        const hash = await this.wallet.writeContract({
          address: this.o.broker, abi: ticketBrokerAbi, functionName: 'batchRedeemWinningTickets', args,
          account: this.o.account, chain: this.wallet.chain, nonce,
        });
        const receipt = await this.client.waitForTransactionReceipt({ hash, timeout: 120_000 });
        if (receipt.status !== 'success') throw new Error(`batch redemption reverted (tx ${hash})`);
        return { tx: hash, fates: await this.settle(chunk, receipt, hash) };
      } catch (err) {
        lastErr = err;
        const msg = (err as Error).message;
        if (NONCE_ERROR.test(msg)) {
          this.o.logger?.info({ attempt }, 'nonce conflict; retrying with a fresh nonce');
          await new Promise((r) => setTimeout(r, 50 + Math.random() * 200));
          continue;
        }
        this.o.logger?.warn({ attempt, err: msg.split('\n')[0] }, 'batch redemption failed; backing off');
        await new Promise((r) => setTimeout(r, delay));
        delay *= 2;
      }
    }
    throw new Error(`could not redeem ${chunk.length} tickets after ${attempts} attempts: ${(lastErr as Error)?.message?.split('\n')[0]}`);
  }

  private async settle(chunk: WinRecord[], receipt: { logs: { data: Hex; topics: Hex[] | [] ; address: Address }[]; gasUsed: bigint; effectiveGasPrice: bigint }, tx: Hex): Promise<FateRecord[]> {
    const byHash = new Map(chunk.map((w) => [w.hash.toLowerCase(), w]));
    const gasShare = (receipt.gasUsed * receipt.effectiveGasPrice) / BigInt(chunk.length);
    const fates: FateRecord[] = [];
    for (const log of receipt.logs) {
      if (log.address.toLowerCase() !== this.o.broker.toLowerCase()) continue;
      let ev;
      try {
        ev = decodeEventLog({ abi: ticketBrokerAbi, data: log.data, topics: log.topics as [Hex, ...Hex[]] });
      } catch {
        continue;
      }
      if (ev.eventName === 'WinningTicketRedeemed') {
        const w = byHash.get(ev.args.ticketHash.toLowerCase());
        if (w) fates.push({ t: 'fate', hash: w.hash, fate: 'redeemed', tx, wei: w.ticket.faceValue, gasWei: gasShare.toString(), at: Date.now() });
      } else if (ev.eventName === 'TicketSkipped') {
        const w = byHash.get(ev.args.ticketHash.toLowerCase());
        if (!w) continue;
        const { fate, reason } = skipFate(ev.args.reason);
        if (fate) fates.push({ t: 'fate', hash: w.hash, fate, tx, gasWei: gasShare.toString(), reason, at: Date.now() });
        else this.o.logger?.warn({ hash: w.hash, reason }, 'winning ticket not redeemable now; kept pending');
      }
    }
    if (fates.length) await this.o.store.append(fates);
    return fates;
  }
}

/** The fate of a skipped ticket from the broker's revert data; null: keep it pending (the sender may top up). */
function skipFate(reason: Hex): { fate: Fate | null; reason: string } {
  let name = 'unknown';
  try {
    name = decodeErrorResult({ abi: ticketBrokerAbi, data: reason }).errorName;
  } catch {
    /* not one of the broker's errors */
  }
  if (name === 'TicketAlreadyUsed') return { fate: 'already-redeemed', reason: name };
  if (name === 'TicketExpired') return { fate: 'expired', reason: name };
  if (name === 'InsufficientFunds') return { fate: null, reason: name };
  return { fate: 'invalid', reason: name };
}
