import type { Logger } from 'pino';
import { receiptBatchId, type Receipt } from '@segmint/protocol';
import type { WorkerPayments } from '../../worker/src/payments/workerPayments.js';
import type { EdgeClient } from './edgeClient.js';

/** Receipts held for the next submission at most (older ones are dropped: the edge loses their pay). */
const MAX_PENDING = 10_000;

export type ReceiptTotals = { submitted: number; paidBytes: number; rejected: Record<string, number>; tickets: number; owedWei: bigint };

/**
 * Collects the receipts viewers hand the edge and submits them in batches every `everyMs`, with
 * ticket parameters when payments are on (the worker's TicketReceiver: fresh secret per batch,
 * every ticket checked and winners fsync'd before the batch counts as paid).
 */
export class ReceiptSink {
  private pending: Receipt[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | null = null;
  readonly totals: ReceiptTotals = { submitted: 0, paidBytes: 0, rejected: {}, tickets: 0, owedWei: 0n };

  constructor(private readonly client: EdgeClient, private readonly payments: WorkerPayments | null, private readonly everyMs: number, private readonly logger?: Logger) {}

  add(receipts: Receipt[]): void {
    this.pending.push(...receipts);
    if (this.pending.length > MAX_PENDING) this.pending.splice(0, this.pending.length - MAX_PENDING);
  }

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.everyMs);
    this.timer.unref();
  }

  /** Submits what is pending (one submission at a time); failures keep the receipts for the next try. */
  flush(): Promise<void> {
    this.flushing ??= this.submit().finally(() => (this.flushing = null));
    return this.flushing;
  }

  private async submit(): Promise<void> {
    const batch = this.pending.splice(0, 1000);
    if (batch.length === 0) return;
    const id = receiptBatchId(batch.map((r) => r.signature));
    try {
      const params = this.payments ? await this.payments.receiver.offer(id) : undefined;
      const answer = await this.client.submit(batch, params);
      this.totals.submitted += batch.length;
      this.totals.paidBytes += answer.paidBytes;
      this.totals.owedWei += BigInt(answer.owedWei);
      for (const r of answer.receipts) if (r.rejected) this.totals.rejected[r.rejected] = (this.totals.rejected[r.rejected] ?? 0) + 1;
      if (this.payments && answer.status === 'accepted') {
        const got = await this.payments.receiver.receive(id, answer.payment);
        this.totals.tickets += got.tickets;
      }
    } catch (err) {
      const code = (err as { code?: string }).code;
      this.logger?.warn({ err: (err as Error).message, code, receipts: batch.length }, 'receipt submission failed');
      // 4xx (excluded, bad receipts) will not get better: dropped; otherwise tried again
      if (!code || code.startsWith('HTTP_5') || code === 'ORCHESTRATOR_UNAVAILABLE') this.pending.unshift(...batch);
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
