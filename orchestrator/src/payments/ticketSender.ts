import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import type { Address } from 'viem';
import {
  ApiError, ticketEV, TicketCodec, TicketSigner,
  type SegmentJob, type TicketBatch, type TicketParams,
} from '@segmint/protocol';
import type { BookedPayment, CreditLedger } from './creditLedger.js';
import type { SenderFunds } from './senderFunds.js';

export type TicketSenderOptions = {
  ledger: CreditLedger;
  funds: SenderFunds;
  signer: TicketSigner;
  maxFaceValue: bigint;
  minTicketValiditySec: number;
  maxTicketsPerResult: number;
  logger: Logger;
  metrics?: { ticketsSent: Counter; evSentWei: Counter; unpaid: Counter };
};

/** What one accepted result is owed: wei per pixel it won the job at, and the job's pixels. */
export type Owed = { pricePerPixel: bigint; pixels: bigint };

/**
 * The orchestrator's side of payments: checks the ticket parameters a worker offers with a result,
 * and pays each accepted result with tickets whose expected value covers price × pixels, the
 * remainder carried as the worker's credit (CreditLedger). Paying is idempotent per (job, worker):
 * a retried result gets the same tickets (signatures are deterministic), never new ones.
 */
export class TicketSender {
  constructor(private readonly o: TicketSenderOptions) {}

  get address(): Address {
    return this.o.signer.address;
  }

  get codec(): TicketCodec {
    return this.o.signer.codec;
  }

  /** Refuses parameters this sender will not sign (422 TICKET_PARAMS_INVALID), before the result is checked. */
  checkParams(worker: string, p: TicketParams | undefined): void {
    if (!p) return;
    const bad = (why: string) => new ApiError('TICKET_PARAMS_INVALID', `ticket params: ${why}`);
    if (p.recipient.toLowerCase() !== worker.toLowerCase()) throw bad('recipient must be the worker that did the job');
    const face = BigInt(p.faceValue);
    const winProb = BigInt(p.winProb);
    if (face === 0n || face > this.o.maxFaceValue) throw bad(`faceValue must be from 1 to ${this.o.maxFaceValue} wei`);
    if (winProb === 0n || winProb >= 1n << 256n) throw bad('winProb must be from 1 to 2^256 - 1');
    if (ticketEV(face, winProb) === 0n) throw bad('a ticket\'s expected value (faceValue × winProb / 2^256) rounds to 0 wei');
    if (p.expiry < Date.now() / 1000 + this.o.minTicketValiditySec) throw bad(`expiry must be at least ${this.o.minTicketValiditySec} s away`);
  }

  /** A paid result proven wrong by a spot-check: what it was credited is taken back (once). */
  clawBack(jobId: string, worker: string): Promise<boolean> {
    return this.o.ledger.clawBack(jobId, worker);
  }

  /**
   * Pays a result the handler accepted, `owed` = the price it won the job at × the job's pixels
   * (both fixed server-side: see results/stages/payResult.ts). For a duplicate, returns what the
   * same (job, worker) was already paid, if anything (a retried POST), never anything new.
   */
  async pay(job: Pick<SegmentJob, 'jobId'>, worker: string, params: TicketParams | undefined, owed: Owed | 'duplicate'): Promise<TicketBatch | undefined> {
    if (!params) return undefined;
    if (owed === 'duplicate') {
      const earlier = await this.o.ledger.booked(job.jobId, worker);
      return earlier ? this.batch(earlier, worker) : undefined;
    }
    const { pricePerPixel: price, pixels } = owed;
    const face = BigInt(params.faceValue);
    const ev = ticketEV(face, BigInt(params.winProb));
    let unpaid: string | undefined;
    try {
      const available = await this.o.funds.available(params.recipient as Address);
      if (available < face) {
        unpaid = `sender funds (${available} wei available to this worker) cannot cover a ${face} wei ticket`;
        void this.o.funds.topUp().catch((err) => this.o.logger.warn({ err }, 'could not top up the TicketBroker'));
      }
    } catch (err) {
      unpaid = `cannot read the sender's funds: ${(err as Error).message.split('\n')[0]}`;
    }
    const booked = await this.o.ledger.book(
      {
        jobId: job.jobId,
        worker: worker.toLowerCase(),
        faceValue: params.faceValue,
        winProb: params.winProb,
        recipientRandHash: params.recipientRandHash as `0x${string}`,
        expiry: params.expiry,
        owed: (price * pixels).toString(),
        pricePerPixel: price.toString(),
        pixels: pixels.toString(),
        ...(unpaid ? { unpaid } : {}),
      },
      ev,
      { maxTickets: this.o.maxTicketsPerResult, canPay: !unpaid },
    );
    if (unpaid) {
      this.o.logger.warn({ jobId: job.jobId, worker, credit: booked.credit }, `no tickets sent: ${unpaid}`);
      this.o.metrics?.unpaid.inc();
    } else if (booked.jobId === job.jobId && booked.count > 0) {
      this.o.metrics?.ticketsSent.inc(booked.count);
      this.o.metrics?.evSentWei.inc(Number(ev * BigInt(booked.count)));
    }
    return this.batch(booked, params.recipient as Address);
  }

  /** Signs a booked payment's tickets (deterministic: the same booking always gives the same batch). */
  batch(b: BookedPayment, recipient: string): TicketBatch {
    const nonces: string[] = [];
    const signatures: `0x${string}`[] = [];
    for (let i = 0; i < b.count; i++) {
      const senderNonce = b.nonceStart + BigInt(i);
      nonces.push(senderNonce.toString());
      signatures.push(
        this.o.signer.sign({
          recipient: recipient as Address,
          sender: this.address,
          faceValue: BigInt(b.faceValue),
          winProb: BigInt(b.winProb),
          senderNonce,
          recipientRandHash: b.recipientRandHash,
          expiry: BigInt(b.expiry),
        }),
      );
    }
    return {
      sender: this.address,
      broker: this.codec.broker,
      chainId: this.codec.chainId,
      recipient: recipient as Address,
      faceValue: b.faceValue,
      winProb: b.winProb,
      recipientRandHash: b.recipientRandHash,
      expiry: b.expiry,
      nonces,
      signatures,
      owed: b.owed,
      pricePerPixel: b.pricePerPixel,
      pixels: b.pixels,
      credit: b.credit,
      ...(b.unpaid ? { unpaid: b.unpaid } : {}),
    };
  }
}
