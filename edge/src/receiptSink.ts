import type { Logger } from 'pino';
import { receiptBatchId, type Receipt } from '@segmint/protocol';
import type { WorkerPayments } from '../../worker/src/payments/workerPayments.js';
import type { EdgeClient } from './edgeClient.js';
import { ReceiptJournal } from './receiptJournal.js';

/** Receipts held for submission at most: past it the edge answers 503 (the viewer keeps them and retries). */
const MAX_PENDING = 50_000;
/** Receipts per submission (the orchestrator takes 1000 at most). */
const BATCH = 1000;

export type ReceiptTotals = {
  submitted: number;
  paidBytes: number;
  rejected: Record<string, number>;
  tickets: number;
  owedWei: bigint;
  /** Submissions answered 5xx, timed out or unreachable (the same batch is sent again). */
  retries: number;
  /** Receipts the orchestrator refused as a batch member (400) once alone: the only ones dropped, with EDGE_EXCLUDED batches. */
  dropped: number;
};

export class ReceiptSinkFull extends Error {
  readonly code = 'RECEIPTS_BACKLOG_FULL';
}

/**
 * Collects the receipts viewers hand the edge and submits them in batches every `everyMs`, with
 * ticket parameters when payments are on (the worker's TicketReceiver: fresh secret per batch,
 * every ticket checked and winners fsync'd before the batch counts as paid).
 *
 * Nothing valid is lost: a receipt is in the fsync'd journal before the viewer's POST is answered;
 * the batch being submitted is journaled as such and sent again, identical (same batch id: the
 * orchestrator answers a retry with the same tickets), until the orchestrator has answered it;
 * 5xx, timeouts and an unreachable orchestrator are retried; EDGE_NOT_REGISTERED/UNAUTHORIZED
 * register again and retry; a batch refused whole (400: one malformed receipt) is split in halves
 * until the bad receipts stand alone, so the good ones are still paid. Only EDGE_EXCLUDED (the
 * edge is proven dishonest: nothing of it will be paid) and a lone malformed receipt are dropped.
 */
export class ReceiptSink {
  private pending: Receipt[] = [];
  private inflight: Receipt[] | null = null;
  private readonly known = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | null = null;
  readonly totals: ReceiptTotals = { submitted: 0, paidBytes: 0, rejected: {}, tickets: 0, owedWei: 0n, retries: 0, dropped: 0 };

  constructor(private readonly client: EdgeClient, private readonly payments: WorkerPayments | null, private readonly everyMs: number, private readonly journal: ReceiptJournal, private readonly logger?: Logger) {
    const state = journal.load();
    this.inflight = state.inflight;
    this.pending = state.pending;
    for (const r of [...(this.inflight ?? []), ...this.pending]) this.known.add(r.signature.toLowerCase());
    if (this.inflight || this.pending.length) logger?.info({ inflight: this.inflight?.length ?? 0, pending: this.pending.length }, 'receipts recovered from the journal');
  }

  /** Receipts waiting to be submitted or answered. */
  get backlog(): number {
    return this.pending.length + (this.inflight?.length ?? 0);
  }

  /** Journals (fsync) the receipts not held already; returns once they are durable. Throws ReceiptSinkFull past the backlog limit. */
  add(receipts: Receipt[]): void {
    const fresh = receipts.filter((r) => !this.known.has(r.signature.toLowerCase()));
    if (fresh.length === 0) return;
    if (this.backlog + fresh.length > MAX_PENDING) throw new ReceiptSinkFull(`${this.backlog} receipts waiting to be submitted: try again later`);
    this.journal.append(fresh);
    for (const r of fresh) this.known.add(r.signature.toLowerCase());
    this.pending.push(...fresh);
  }

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.everyMs);
    this.timer.unref();
  }

  /** Submits what is waiting (one submission at a time); failures keep the receipts for the next try. */
  flush(): Promise<void> {
    this.flushing ??= this.submitAll().finally(() => (this.flushing = null));
    return this.flushing;
  }

  /** Batches until nothing is waiting or a submission fails (then the next tick tries again). */
  private async submitAll(): Promise<void> {
    for (;;) {
      if (!this.inflight) {
        if (this.pending.length === 0) return;
        this.inflight = this.pending.slice(0, BATCH);
        this.pending = this.pending.slice(BATCH);
        this.journal.rewrite(this.inflight, this.pending);
      }
      if (!(await this.submit(this.inflight))) return;
    }
  }

  /** Submits the in-flight batch; true when it was settled (answered, split or dropped), false to retry later. */
  private async submit(batch: Receipt[]): Promise<boolean> {
    const id = receiptBatchId(batch.map((r) => r.signature));
    try {
      const params = this.payments ? await this.payments.receiver.offer(id) : undefined;
      const answer = await this.client.submit(batch, params);
      if (this.payments && answer.payment) this.totals.tickets += (await this.payments.receiver.receive(id, answer.payment)).tickets;
      this.totals.submitted += batch.length;
      this.totals.paidBytes += answer.paidBytes;
      this.totals.owedWei += BigInt(answer.owedWei);
      for (const r of answer.receipts) if (r.rejected) this.totals.rejected[r.rejected] = (this.totals.rejected[r.rejected] ?? 0) + 1;
      this.settle(batch, []);
      return true;
    } catch (err) {
      return this.failed(batch, err as Error & { code?: string });
    }
  }

  private async failed(batch: Receipt[], err: Error & { code?: string }): Promise<boolean> {
    const code = err.code ?? '';
    this.logger?.warn({ err: err.message, code, receipts: batch.length }, 'receipt submission failed');
    if (code === 'EDGE_EXCLUDED') {
      this.totals.dropped += batch.length;
      this.settle(batch, []);
      return true;
    }
    if (code === 'VALIDATION_FAILED' || code === 'PAYLOAD_TOO_LARGE' || code === 'HTTP_400') {
      if (batch.length === 1) {
        this.logger?.warn({ receipt: batch[0]!.signature }, 'a receipt the orchestrator refuses as malformed: dropped');
        this.totals.dropped++;
        this.settle(batch, []);
      } else {
        // halves: the bad receipts end up alone, the good ones are paid
        const half = Math.ceil(batch.length / 2);
        this.settle(batch, [batch.slice(0, half), batch.slice(half)]);
      }
      return true;
    }
    if (code === 'EDGE_NOT_REGISTERED' || code === 'UNAUTHORIZED') await this.client.register().catch(() => {});
    this.totals.retries++;
    return false; // 5xx, timeout, unreachable, forgotten registration, ticket parameters refused: the same batch later
  }

  /** The in-flight batch is answered; `requeue` (split halves) goes first in line, in that order. */
  private settle(batch: Receipt[], requeue: Receipt[][]): void {
    const again = new Set(requeue.flat());
    for (const r of batch) if (!again.has(r)) this.known.delete(r.signature.toLowerCase());
    this.inflight = requeue[0] ?? null;
    this.pending = [...(requeue[1] ?? []), ...this.pending];
    this.journal.rewrite(this.inflight, this.pending);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
