/**
 * Ticket sender knobs. Part of ORCHESTRATOR_KNOBS (config.ts spreads them in). No imports from
 * config.ts: it imports this file. Payments are on when CHAIN_RPC_URL, SEGMINT_TICKET_BROKER and
 * SENDER_PRIVATE_KEY are all set; otherwise results are accepted and nobody is paid.
 */
export const PAYMENT_KNOBS = {
  ticketBroker: { env: 'SEGMINT_TICKET_BROKER', flag: '--ticket-broker', default: '', help: 'TicketBroker contract address; with CHAIN_RPC_URL and SENDER_PRIVATE_KEY, accepted results are paid with tickets' },
  senderKey: { env: 'SENDER_PRIVATE_KEY', flag: '--sender-key', default: '', help: 'Private key (0x…) of the account that funds the TicketBroker and signs tickets' },
  senderDeposit: { env: 'SEGMINT_SENDER_DEPOSIT', flag: '--sender-deposit', default: '1000000000000000000', help: 'Wei of TicketBroker deposit to keep: topped up to this when it falls below half' },
  senderReserve: { env: 'SEGMINT_SENDER_RESERVE', flag: '--sender-reserve', default: '1000000000000000000', help: 'Wei of TicketBroker reserve to keep: topped up to this when it falls below half' },
  maxFaceValue: { env: 'SEGMINT_MAX_FACE_VALUE', flag: '--max-face-value', default: '100000000000000000', help: 'Largest ticket face value (wei) a worker may ask for (422 TICKET_PARAMS_INVALID above)' },
  minTicketValiditySec: { env: 'SEGMINT_MIN_TICKET_VALIDITY', flag: '--min-ticket-validity', default: '600', help: 'A worker\'s ticket expiry must be at least this many seconds away' },
  maxTicketsPerResult: { env: 'SEGMINT_MAX_TICKETS_PER_RESULT', flag: '--max-tickets-per-result', default: '100', help: 'Most tickets sent for one result (the rest of what is owed stays as credit)' },
} as const;

export type PaymentConfig = {
  ticketBroker: `0x${string}` | undefined;
  senderKey: `0x${string}` | undefined;
  senderDeposit: bigint;
  senderReserve: bigint;
  maxFaceValue: bigint;
  minTicketValiditySec: number;
  maxTicketsPerResult: number;
};

type IntParser = (name: string, v: string, min: number, max: number) => number;
type WeiParser = (name: string, v: string) => bigint;
type AddressParser = (name: string, v: string) => `0x${string}` | undefined;

export class PaymentConfigError extends Error {
  override name = 'PaymentConfigError';
}

export function parsePaymentKnobs(k: Record<keyof typeof PAYMENT_KNOBS, string>, int: IntParser, wei: WeiParser, address: AddressParser): PaymentConfig {
  if (k.senderKey !== '' && !/^0x[0-9a-fA-F]{64}$/.test(k.senderKey)) throw new PaymentConfigError('SENDER_PRIVATE_KEY must be 0x followed by 64 hex digits');
  return {
    ticketBroker: address('SEGMINT_TICKET_BROKER', k.ticketBroker),
    senderKey: (k.senderKey || undefined) as `0x${string}` | undefined,
    senderDeposit: wei('SEGMINT_SENDER_DEPOSIT', k.senderDeposit),
    senderReserve: wei('SEGMINT_SENDER_RESERVE', k.senderReserve),
    maxFaceValue: wei('SEGMINT_MAX_FACE_VALUE', k.maxFaceValue),
    minTicketValiditySec: int('SEGMINT_MIN_TICKET_VALIDITY', k.minTicketValiditySec, 0, 365 * 86_400),
    maxTicketsPerResult: int('SEGMINT_MAX_TICKETS_PER_RESULT', k.maxTicketsPerResult, 1, 10_000),
  };
}
