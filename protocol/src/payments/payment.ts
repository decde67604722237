/**
 * What worker and orchestrator exchange to pay for a segment (see orchestrator/src/payments/README.md):
 * the worker offers its ticket parameters with each result, the orchestrator answers an accepted
 * result with tickets built from them. Money travels as decimal strings (JSON has no bigint).
 */
import { Type, type Static } from 'typebox';
import type { Address, Hex } from 'viem';
import type { Ticket } from '../contracts/ticket.js';

const Wei = Type.String({ pattern: '^[0-9]{1,78}$', description: 'decimal integer (wei, or a uint256)' });
const AddressT = Type.String({ pattern: '^0x[0-9a-fA-F]{40}$' });
const Bytes32 = Type.String({ pattern: '^0x[0-9a-fA-F]{64}$' });

/**
 * The worker's side of every ticket for one result: it chooses face value and win probability
 * (their product is one ticket's expected value), and commits to a fresh secret per job.
 */
export const TicketParamsSchema = Type.Object(
  {
    recipient: AddressT,
    faceValue: Wei,
    /** Wins when uint256(keccak256(sig ‖ recipientRand)) < winProb. */
    winProb: Wei,
    recipientRandHash: Bytes32,
    /** Unix seconds. */
    expiry: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false },
);
export type TicketParams = Static<typeof TicketParamsSchema>;

/** Tickets paying one accepted result: shared parameters, then one nonce and signature each. */
export type TicketBatch = {
  sender: Address;
  broker: Address;
  chainId: number;
  recipient: Address;
  faceValue: string;
  winProb: string;
  recipientRandHash: Hex;
  expiry: number;
  /** Sender nonces, strictly increasing. */
  nonces: string[];
  signatures: Hex[];
  /** What the result was worth: price × pixels, in wei. */
  owed: string;
  pricePerPixel: string;
  pixels: string;
  /** What the sender still owes this worker after these tickets (less than one ticket's EV). */
  credit: string;
  /** Set when no tickets could be sent (e.g. the sender's funds cannot cover the face value). */
  unpaid?: string;
};

/** The answer to a result POST. */
export type ResultResponse = { status: 'accepted' | 'duplicate'; published: number; payment?: TicketBatch };

const TWO_256 = 1n << 256n;

/**
 * Expected value of a ticket in wei, rounded down: faceValue × winProb / 2²⁵⁶. Accounting uses this
 * floor, so the true EV is at most 1 wei per ticket above what the orchestrator books.
 */
export function ticketEV(faceValue: bigint, winProb: bigint): bigint {
  return (faceValue * winProb) / TWO_256;
}

/** Output pixels of a result: Σ renditions width × height × frames. */
/**
 * Pixels a job's ladder asks for: each profile's size × the frames the checks require of it (the
 * source's frame count, scaled when the profile lowers the frame rate). What a worker is paid for,
 * computed from the job alone, never from what the worker reports.
 */
export function jobPixels(job: { profiles: readonly { width: number; height: number; fps?: number }[]; source: { frames: number; fps: number } }): bigint {
  return job.profiles.reduce((sum, x) => {
    const fps = Math.min(x.fps ?? 30, job.source.fps);
    const frames = job.source.fps > 0 ? Math.round((job.source.frames * fps) / job.source.fps) : job.source.frames;
    return sum + BigInt(x.width) * BigInt(x.height) * BigInt(frames);
  }, 0n);
}


/** The tickets of a batch, each with its signature. */
export function batchTickets(b: TicketBatch): { ticket: Ticket; signature: Hex }[] {
  return b.nonces.map((nonce, i) => ({
    ticket: {
      recipient: b.recipient,
      sender: b.sender,
      faceValue: BigInt(b.faceValue),
      winProb: BigInt(b.winProb),
      senderNonce: BigInt(nonce),
      recipientRandHash: b.recipientRandHash,
      expiry: BigInt(b.expiry),
    },
    signature: b.signatures[i]!,
  }));
}
