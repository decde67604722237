import { getAddress, isAddress } from 'viem';
import type { TicketBatch } from '@segmint/protocol';
import type { CreditLedger } from './creditLedger.js';
import type { TicketSender } from './ticketSender.js';

/** The tickets booked for one (job, worker), or null; see bookedPayment(). */
export type BookedPaymentReader = (jobId: string, worker: string) => Promise<TicketBatch | null>;

/**
 * Reads the batch booked for an accepted result, signed again (deterministic: the very tickets
 * the worker's POST was answered with), for a worker whose answer was lost or that was killed
 * before storing it. Read only: it books nothing.
 */
export function bookedPayment(sender: TicketSender, ledger: CreditLedger): BookedPaymentReader {
  return async (jobId, worker) => {
    if (!isAddress(worker, { strict: false })) return null;
    const booked = await ledger.booked(jobId, worker);
    return booked ? sender.batch(booked, getAddress(worker)) : null;
  };
}
