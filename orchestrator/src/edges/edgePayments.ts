import { receiptBatchId, type TicketBatch, type TicketParams } from '@segmint/protocol';
import type { TicketSender } from '../payments/ticketSender.js';

/**
 * Pays an edge for the bytes of one receipt batch with the workers' ticket sender: owed = verified
 * bytes × the operator's price per byte, booked in the edge's credit under a payment id derived
 * from the batch's receipt signatures, so a retried submission gets the very same tickets.
 */
export class EdgePayments {
  constructor(private readonly sender: TicketSender | null, readonly pricePerByte: bigint) {}

  /** The id a batch is booked under: the same receipts, in any order, give the same id. */
  static batchId(signatures: readonly string[]): string {
    return receiptBatchId(signatures);
  }

  /** Throws TICKET_PARAMS_INVALID (422) for parameters the sender will not sign. */
  check(edge: string, params: TicketParams | undefined): void {
    this.sender?.checkParams(edge, params);
  }

  /** The tickets booked for this batch before (a retried submission), if any. */
  async earlier(batchId: string, edge: string, params: TicketParams | undefined): Promise<TicketBatch | undefined> {
    if (!this.sender || !params) return undefined;
    return this.sender.pay({ jobId: batchId }, edge, params, 'duplicate');
  }

  async pay(batchId: string, edge: string, params: TicketParams | undefined, bytes: bigint): Promise<TicketBatch | undefined> {
    if (!this.sender || !params) return undefined;
    return this.sender.pay({ jobId: batchId }, edge, params, { pricePerPixel: this.pricePerByte, pixels: bytes });
  }
}
