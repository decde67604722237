/**
 * A viewer's receipt for one segment it received intact from an edge: signed with EIP-712 by the
 * viewer's session key (a key the player makes for one playback session and names to the
 * orchestrator when the session starts). The orchestrator pays the edge per receipt it verifies.
 *
 * Pure: viem only, so the browser player imports it as it is.
 */
import { concat, keccak256, recoverTypedDataAddress, type Address, type Hex } from 'viem';
import { Type, type Static } from 'typebox';
import { TicketParamsSchema } from '../payments/payment.js';

export const RECEIPT_DOMAIN = { name: 'Segmint edge receipts', version: '1' } as const;

export const RECEIPT_TYPES = {
  Receipt: [
    { name: 'session', type: 'string' },
    { name: 'edge', type: 'address' },
    { name: 'playbackId', type: 'string' },
    { name: 'rendition', type: 'string' },
    { name: 'uri', type: 'string' },
    { name: 'sha256', type: 'bytes32' },
    { name: 'bytes', type: 'uint64' },
    { name: 'time', type: 'uint64' },
  ],
} as const;

export const ReceiptSchema = Type.Object(
  {
    session: Type.String({ pattern: '^[A-Za-z0-9_-]{8,64}$' }),
    edge: Type.String({ pattern: '^0x[0-9a-fA-F]{40}$' }),
    playbackId: Type.String({ minLength: 1, maxLength: 64 }),
    rendition: Type.String({ pattern: '^[A-Za-z0-9_-]{1,32}$' }),
    uri: Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$' }),
    /** Lowercase hex, no 0x: as the hash sidecar lists it. */
    sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
    bytes: Type.Integer({ minimum: 1, maximum: 1024 ** 3 }),
    /** Unix ms when the viewer had the whole segment. */
    time: Type.Integer({ minimum: 0, maximum: 2 ** 52 }),
    signature: Type.String({ pattern: '^0x[0-9a-fA-F]{130}$' }),
  },
  { additionalProperties: false },
);
export type Receipt = Static<typeof ReceiptSchema>;
export type UnsignedReceipt = Omit<Receipt, 'signature'>;

export function receiptTypedData(r: UnsignedReceipt) {
  return {
    domain: RECEIPT_DOMAIN,
    types: RECEIPT_TYPES,
    primaryType: 'Receipt' as const,
    message: {
      session: r.session, edge: r.edge as Address, playbackId: r.playbackId, rendition: r.rendition, uri: r.uri,
      sha256: `0x${r.sha256}` as Hex, bytes: BigInt(r.bytes), time: BigInt(r.time),
    },
  };
}

/** The key that signed a receipt, or null when the signature does not decode. */
export async function receiptSigner(r: Receipt): Promise<Address | null> {
  try {
    return await recoverTypedDataAddress({ ...receiptTypedData(r), signature: r.signature as Hex });
  } catch {
    return null;
  }
}

/**
 * Why one receipt pays nothing; stable codes, listed in docs/edge.md. A receipt refused this way
 * never makes the batch fail: the rest of it is still paid.
 */
export const RECEIPT_REJECTIONS = {
  RECEIPT_FORGED: 'not signed by the session key the viewer named when its session started',
  RECEIPT_UNKNOWN_SESSION: 'no such viewer session (never started, or expired)',
  RECEIPT_WRONG_EDGE: 'the session was steered to another edge, or the receipt names another edge than the submitter',
  RECEIPT_WRONG_STREAM: 'the receipt names another playback id than its session',
  RECEIPT_UNKNOWN_SEGMENT: 'no signed segment with this rendition and file name (or no longer in the window)',
  RECEIPT_HASH_MISMATCH: 'bytes or sha256 differ from the segment the orchestrator signed',
  RECEIPT_REPLAYED: 'this session already vouched for this segment',
  RECEIPT_OVER_CAP: 'the session has vouched for what it can watch (bitrate × wall time): nothing more is paid',
  RECEIPT_TIME_INVALID: 'the receipt time is before its session started or in the future',
} as const;
export type ReceiptRejection = keyof typeof RECEIPT_REJECTIONS;

/** `POST /edges/receipts` body: receipts gathered by an edge, and the ticket parameters to pay them with. */
export const ReceiptBatchSchema = Type.Object(
  {
    edge: Type.String({ pattern: '^0x[0-9a-fA-F]{40}$' }),
    receipts: Type.Array(ReceiptSchema, { minItems: 1, maxItems: 1000 }),
    /** Absent: the receipts are counted and credited, no tickets sent. */
    ticketParams: Type.Optional(TicketParamsSchema),
  },
  { additionalProperties: false },
);

/**
 * The id a batch of receipts is paid under (the edge offers ticket parameters for it, the
 * orchestrator books it): the same receipts, in any order, give the same id, so a retried
 * submission gets the very same tickets.
 */
export function receiptBatchId(signatures: readonly string[]): string {
  return `edge-receipts:${keccak256(concat([...signatures].map((s) => s.toLowerCase() as Hex).sort()))}`;
}
