import type { Logger } from 'pino';
import type { TicketBatch } from '@segmint/protocol';
import { call } from '../http.js';
import type { UnpaidResult } from './paymentJournal.js';
import { TicketRejectedError, type TicketReceiver } from './ticketReceiver.js';

/**
 * How long after a result's hard deadline a "no payment booked" (404) answer is final: the
 * worker stopped posting at the hard deadline, and a POST the orchestrator was still handling
 * then is booked well within this.
 */
export const BOOKING_SETTLE_MS = 30_000;

export type PaymentRecoveryReceiver = Pick<TicketReceiver, 'unpaid' | 'restore' | 'receive' | 'forget' | 'compactJournal'>;

export type PaymentRecovery = {
  /** Asks again for a result's tickets in the background (its answer was lost). */
  add(entry: UnpaidResult): void;
  stop(): void;
};

/**
 * Asks the orchestrator again for the tickets of every result in the payment journal (posted,
 * not yet in the ticket book: the worker was killed, or the answer never came), stores them, and
 * only then drops the journal entry. Each result is retried with backoff while the orchestrator is
 * unreachable; a 404 (no payment booked) is final once the result's hard deadline has passed.
 */
export function startPaymentRecovery(o: { receiver: PaymentRecoveryReceiver; logger: Logger }): PaymentRecovery {
  const stop = new AbortController();
  const busy = new Set<string>();
  const add = (entry: UnpaidResult) => {
    if (busy.has(entry.jobId) || stop.signal.aborted) return;
    busy.add(entry.jobId);
    void recoverOne(o, entry, stop.signal)
      .catch((err: unknown) => o.logger.error({ err, jobId: entry.jobId }, 'could not recover the tickets of a posted result'))
      .finally(() => busy.delete(entry.jobId));
  };
  const found = o.receiver.unpaid();
  void o.receiver.compactJournal().catch((err: unknown) => o.logger.warn({ err }, 'could not compact the payment journal'));
  for (const entry of found) add(entry);
  return { add, stop: () => stop.abort() };
}

async function recoverOne(o: { receiver: PaymentRecoveryReceiver; logger: Logger }, entry: UnpaidResult, signal: AbortSignal): Promise<void> {
  const log = o.logger.child({ jobId: entry.jobId });
  for (let delay = 500; !signal.aborted; delay = Math.min(delay * 2, 30_000)) {
    const answer = await askPayment(entry);
    if (answer.payment) {
      try {
        await o.receiver.restore(entry);
        const got = await o.receiver.receive(entry.jobId, answer.payment);
        log.warn({ ...got }, 'recovered the tickets of a result posted before');
        return;
      } catch (err) {
        if (err instanceof TicketRejectedError) throw err; // refused for good (and dropped from the journal)
        answer.why = `could not check the tickets yet: ${(err as Error).message}`; // e.g. chain RPC down: again
      }
    } else if (answer.final) {
      log.warn({ why: answer.why }, 'posted result has no payment to recover');
      await o.receiver.forget(entry.jobId);
      return;
    }
    log.debug({ why: answer.why, retryInMs: delay }, 'payment not recovered yet');
    await new Promise((r) => setTimeout(r, delay).unref());
  }
}

/** The orchestrator's booked batch for a journaled result, or why not (final: ask no more). */
async function askPayment(entry: UnpaidResult): Promise<{ payment?: TicketBatch; final?: boolean; why?: string }> {
  try {
    const res = await call(`${entry.resultUrl}/payment`, { headers: { authorization: `Bearer ${entry.token}` }, signal: AbortSignal.timeout(10_000) });
    return { payment: ((await res.json()) as { payment: TicketBatch }).payment };
  } catch (err) {
    const e = err as { code?: string; retryable?: boolean; message: string };
    if (e.code === 'NOT_FOUND') return { final: Date.now() > entry.hardDeadline + BOOKING_SETTLE_MS, why: e.message };
    if (e.code === 'ORCHESTRATOR_UNAVAILABLE' || e.code === undefined) return { why: e.message };
    // Token refused or the like: asking again gets the same answer.
    return { final: true, why: `${e.code}: ${e.message}` };
  }
}
