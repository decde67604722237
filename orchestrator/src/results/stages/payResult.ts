import { jobPixels, type SegmentJob, type TicketBatch, type TicketParams } from '@segmint/protocol';
import type { Pipeline } from '../../pipeline.js';

/**
 * Stage 5: pays an accepted result with tickets. What it is owed is fixed server-side: the price
 * the worker won the job at (its assignment: pay-as-ask, capped by the stream's max price) × the
 * pixels the job's ladder asks for. Nothing the worker says now (a new registration, its claimed
 * frames, its ticket parameters) moves it; a higher face value only means fewer tickets.
 * A duplicate gets the tickets already booked for it (a retried POST), never new ones.
 */
export async function payResult(p: Pipeline, job: SegmentJob, worker: string, params: TicketParams | undefined, status: 'accepted' | 'duplicate'): Promise<TicketBatch | undefined> {
  if (!p.payments || !params) return undefined;
  if (status === 'duplicate') return p.payments.pay(job, worker, params, 'duplicate');
  const assignment = await p.dispatcher.assignment(job.jobId, worker);
  if (!assignment) return p.payments.pay(job, worker, params, 'duplicate');
  let price = BigInt(assignment.pricePerPixel);
  if (job.maxPricePerPixel !== undefined && BigInt(job.maxPricePerPixel) < price) price = BigInt(job.maxPricePerPixel);
  return p.payments.pay(job, worker, params, { pricePerPixel: price, pixels: jobPixels(job) });
}
