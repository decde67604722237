import { createPublicClient, http, keccak256, concat, toHex, getAddress, type Address, type Hex, type PublicClient } from 'viem';
import type { PrivateKeyAccount } from 'viem/accounts';
import {
  batchTickets, isWinningTicket, recipientRandHash, SegmintError, ticketBrokerAbi, ticketEV, TicketCodec, TicketVerifier,
  type TicketBatch, type TicketParams,
} from '@segmint/protocol';
import type { BatchRecord, TicketStore, WinRecord } from './ticketStore.js';
import type { PaymentJournal, UnpaidResult } from './paymentJournal.js';

/** Why a ticket batch was refused. The worker then stops working for that sender. */
export type TicketRejection =
  | 'TICKET_FORGED' // a signature does not recover to the sender
  | 'TICKET_WRONG_PARAMS' // recipient, face value, win probability, secret, expiry or broker are not the ones offered
  | 'TICKET_NONCE_REUSED' // a sender nonce repeats
  | 'TICKET_EXPIRED'
  | 'SENDER_UNDERFUNDED' // deposit + this worker's reserve share, less winners held, cannot pay
  | 'SENDER_CHANGED'; // tickets from another sender than the one this worker is paid by

/** A ticket batch the worker refuses (fatal: the sender is cheating or cannot pay). */
export class TicketRejectedError extends SegmintError {
  override name = 'TicketRejectedError';
  declare readonly code: TicketRejection;
  constructor(code: TicketRejection, message: string) {
    super(code, message, { retryable: false });
  }
}

export type TicketReceiverOptions = {
  account: PrivateKeyAccount;
  store: TicketStore;
  rpcUrl: string;
  chainId: number;
  broker: Address;
  faceValue: bigint;
  winProb: bigint;
  /** Seconds a ticket stays redeemable. */
  validitySec: number;
  /** Pin the sender (else: the first one that pays this worker, kept in the store). */
  sender?: Address;
  /** How long a read of the sender's funds is trusted (ms). */
  fundsCacheMs?: number;
  /** Called once when a sender is refused (cheated or cannot pay): stop working for it. */
  onRefused?: (err: TicketRejectedError) => void;
  /** Results posted and not yet paid (fsync'd), asked for again after a crash. */
  journal?: PaymentJournal;
};

/**
 * The worker's side of a payment: offers ticket parameters with each result (a fresh secret per
 * job, derived from a seed so it survives restarts) and checks every ticket it is paid with before
 * the job is acknowledged; winners go to the TicketStore (fsync'd) first.
 */
export class TicketReceiver {
  private seed: Hex | null = null;
  private verifier: TicketVerifier | null = null;
  private readonly client: PublicClient;
  private readonly codec: TicketCodec;
  private funds: { value: bigint; at: number } | null = null;
  private readonly offered = new Map<string, TicketParams & { rand: bigint }>();
  /** Set once a sender cheated or could not pay: the worker stops taking its work. */
  refused: TicketRejectedError | null = null;

  constructor(private readonly o: TicketReceiverOptions) {
    this.client = createPublicClient({ transport: http(o.rpcUrl, { timeout: 10_000, retryCount: 1 }) });
    this.codec = new TicketCodec(o.chainId, o.broker);
  }

  get address(): Address {
    return this.o.account.address;
  }

  /** The sender this worker is paid by: pinned, or the first that paid it. */
  sender(): Address | undefined {
    return this.o.sender ?? [...this.o.store.batches.values()][0]?.sender;
  }

  /**
   * The secret of a job's tickets: keccak256(seed ‖ jobId), the seed being the worker key's
   * (deterministic) signature of a fixed message: nothing to store, the same after a restart.
   */
  async recipientRand(jobId: string): Promise<bigint> {
    this.seed ??= keccak256(await this.o.account.signMessage({ message: 'segmint ticket seed v1' }));
    return BigInt(keccak256(concat([this.seed, toHex(jobId)])));
  }

  /** Ticket parameters to send with the result of `jobId`. */
  async offer(jobId: string): Promise<TicketParams> {
    const rand = await this.recipientRand(jobId);
    const params: TicketParams = {
      recipient: this.address,
      faceValue: this.o.faceValue.toString(),
      winProb: this.o.winProb.toString(),
      recipientRandHash: recipientRandHash(rand),
      expiry: Math.floor(Date.now() / 1000) + this.o.validitySec,
    };
    // Offers whose result never came back (the job failed) are forgotten oldest first.
    if (this.offered.size >= 10_000) this.offered.delete(this.offered.keys().next().value!);
    this.offered.set(jobId, { ...params, rand });
    return params;
  }

  private async available(sender: Address): Promise<bigint> {
    if (this.funds && Date.now() - this.funds.at < (this.o.fundsCacheMs ?? 5000)) return this.funds.value;
    const [s, share] = await Promise.all([
      this.client.readContract({ address: this.o.broker, abi: ticketBrokerAbi, functionName: 'getSender', args: [sender] }),
      this.client.readContract({ address: this.o.broker, abi: ticketBrokerAbi, functionName: 'claimableReserve', args: [sender, this.address] }),
    ]);
    this.funds = { value: BigInt(s.deposit) + share, at: Date.now() };
    return this.funds.value;
  }

  /**
   * Checks the tickets paying `jobId` and stores them (winners with their secret), fsync'd, before
   * returning. A retried result's batch (same job) is recognised and not counted twice. Throws
   * TicketRejectedError for a bad batch, and from then on refuses the sender.
   */
  async receive(jobId: string, batch: TicketBatch | undefined): Promise<{ tickets: number; winners: number }> {
    const offered = this.offered.get(jobId);
    this.offered.delete(jobId);
    if (!offered) return { tickets: 0, winners: 0 };
    // No batch (the result was not ours to be paid) or already stored: nothing left to ask for.
    if (!batch || this.o.store.batches.has(jobId)) {
      await this.o.journal?.paid(jobId);
      return { tickets: 0, winners: 0 };
    }
    try {
      const out = await this.check(jobId, batch, offered);
      await this.o.journal?.paid(jobId);
      return out;
    } catch (err) {
      if (err instanceof TicketRejectedError) {
        await this.o.journal?.paid(jobId); // refused for good: asking again gets the same batch
        if (!this.refused) {
          this.refused = err;
          this.o.onRefused?.(err);
        }
      }
      throw err;
    }
  }

  /** Records a result about to be posted with `offer(jobId)`'s parameters (fsync'd before resolving). */
  async posting(entry: Omit<UnpaidResult, 'params' | 'at'>): Promise<void> {
    const offered = this.offered.get(entry.jobId);
    if (!offered || !this.o.journal) return;
    const { rand: _rand, ...params } = offered;
    await this.o.journal.posted({ ...entry, params, at: Date.now() });
  }

  /** Results posted before and not paid yet (after a crash, or the answer never came). */
  unpaid(): UnpaidResult[] {
    return this.o.journal?.unpaid() ?? [];
  }

  /** Makes a journaled result receivable again (its secret is derived again from the key). */
  async restore(entry: UnpaidResult): Promise<void> {
    this.offered.set(entry.jobId, { ...entry.params, rand: await this.recipientRand(entry.jobId) });
  }

  /** Rewrites the journal with the unpaid results only (at start: it would grow with every job). */
  compactJournal(): Promise<void> {
    return this.o.journal?.compact() ?? Promise.resolve();
  }

  /** Drops a journaled result that will never be paid (never booked, or its token is refused). */
  forget(jobId: string): Promise<void> {
    this.offered.delete(jobId);
    return this.o.journal?.paid(jobId) ?? Promise.resolve();
  }

  private async check(jobId: string, batch: TicketBatch, offered: TicketParams & { rand: bigint }) {
    const reject = (code: TicketRejection, why: string) => new TicketRejectedError(code, `${why} (job ${jobId}, sender ${batch.sender})`);
    const pinned = this.sender();
    if (pinned && getAddress(pinned) !== getAddress(batch.sender)) throw reject('SENDER_CHANGED', `paid by ${batch.sender}, not ${pinned}`);
    if (batch.chainId !== this.o.chainId || getAddress(batch.broker) !== getAddress(this.o.broker)) throw reject('TICKET_WRONG_PARAMS', `tickets for broker ${batch.broker} on chain ${batch.chainId}`);
    if (batch.nonces.length !== batch.signatures.length) throw reject('TICKET_WRONG_PARAMS', 'nonces and signatures differ in number');
    const tickets = batchTickets(batch);
    const seen = new Set<string>();
    const now = BigInt(Math.floor(Date.now() / 1000));
    if (!this.verifier || getAddress(this.verifier.sender) !== getAddress(batch.sender)) this.verifier = new TicketVerifier(batch.sender, this.codec);
    const wins: WinRecord[] = [];
    for (const { ticket: t, signature } of tickets) {
      if (getAddress(t.recipient) !== this.address) throw reject('TICKET_WRONG_PARAMS', `ticket for ${t.recipient}`);
      if (t.faceValue !== BigInt(offered.faceValue) || t.winProb !== BigInt(offered.winProb) || t.recipientRandHash !== offered.recipientRandHash) {
        throw reject('TICKET_WRONG_PARAMS', 'ticket parameters are not the ones offered');
      }
      // The expiry may differ from this offer's: a result retried after a restart is paid with the
      // tickets booked for the first offer (same job, so the same secret).
      if (t.expiry <= now) throw reject('TICKET_EXPIRED', `ticket expired at ${t.expiry}`);
      if (seen.has(t.senderNonce.toString())) throw reject('TICKET_NONCE_REUSED', `sender nonce ${t.senderNonce} repeats`);
      seen.add(t.senderNonce.toString());
      if (!this.verifier.verify(t, signature)) throw reject('TICKET_FORGED', `ticket ${t.senderNonce} is not signed by ${batch.sender}`);
      if (isWinningTicket(signature, offered.rand, t.winProb)) {
        wins.push({
          t: 'win', jobId, hash: this.codec.digest(t), broker: this.o.broker, chainId: this.o.chainId,
          ticket: { recipient: t.recipient, sender: t.sender, faceValue: t.faceValue.toString(), winProb: t.winProb.toString(), senderNonce: t.senderNonce.toString(), recipientRandHash: t.recipientRandHash, expiry: t.expiry.toString() },
          signature, recipientRand: offered.rand.toString(), at: Date.now(),
        });
      }
    }
    if (tickets.length > 0) {
      // What the sender can still pay us: its funds less the winners we hold but have not redeemed
      // yet (go-livepeer's "max float"), which must cover this batch's winners (at least one ticket).
      const held = this.o.store.pending().reduce((sum, w) => (getAddress(w.ticket.sender) === getAddress(batch.sender) ? sum + BigInt(w.ticket.faceValue) : sum), 0n);
      const float = (await this.available(batch.sender)) - held;
      const needed = BigInt(offered.faceValue) * BigInt(Math.max(wins.length, 1));
      if (float < needed) {
        throw reject('SENDER_UNDERFUNDED', `sender can pay ${float} wei beyond the ${held} wei of winners held, this batch needs ${needed}`);
      }
    }
    const record: BatchRecord = {
      t: 'batch', jobId, sender: getAddress(batch.sender), count: tickets.length,
      ev: (ticketEV(BigInt(offered.faceValue), BigInt(offered.winProb)) * BigInt(tickets.length)).toString(),
      owed: batch.owed, pricePerPixel: batch.pricePerPixel, pixels: batch.pixels, credit: batch.credit, at: Date.now(),
    };
    // Winners first in the same write: one fsync, and never a batch line without its winners.
    await this.o.store.append([...wins, record]);
    return { tickets: tickets.length, winners: wins.length };
  }
}
