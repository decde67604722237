/**
 * Codec of TicketBroker's probabilistic micropayment tickets: the EIP-712 typed data a sender
 * signs, the win rule, and the recipient secret commitment. Byte-for-byte what
 * contracts/src/TicketBroker.sol checks (test: contracts/test-ts/onchain.test.ts).
 */
import { concat, encodeAbiParameters, hashTypedData, keccak256, toHex, type Address, type Hex } from 'viem';

/** A lottery ticket (money in wei). `expiry` is unix seconds (Livepeer's auxData). */
export type Ticket = {
  recipient: Address;
  sender: Address;
  faceValue: bigint;
  /** Wins when uint256(keccak256(sig ‖ recipientRand)) < winProb. */
  winProb: bigint;
  senderNonce: bigint;
  recipientRandHash: Hex;
  expiry: bigint;
};

export const TICKET_TYPES = {
  Ticket: [
    { name: 'recipient', type: 'address' },
    { name: 'sender', type: 'address' },
    { name: 'faceValue', type: 'uint256' },
    { name: 'winProb', type: 'uint256' },
    { name: 'senderNonce', type: 'uint256' },
    { name: 'recipientRandHash', type: 'bytes32' },
    { name: 'expiry', type: 'uint256' },
  ],
} as const;

/** EIP-712 domain of a TicketBroker deployment. */
export const ticketBrokerDomain = (chainId: number, broker: Address) =>
  ({ name: 'Segmint TicketBroker', version: '1', chainId, verifyingContract: broker }) as const;

/**
 * The typed data a sender signs for a ticket.
 * @example
 * const sig = await account.signTypedData(ticketTypedData(ticket, chainId, brokerAddress));
 */
export function ticketTypedData(ticket: Ticket, chainId: number, broker: Address) {
  return { domain: ticketBrokerDomain(chainId, broker), types: TICKET_TYPES, primaryType: 'Ticket' as const, message: ticket };
}

/** The EIP-712 digest of a ticket: what the sender signs and the broker's `usedTickets` key. */
export function ticketHash(ticket: Ticket, chainId: number, broker: Address): Hex {
  return hashTypedData(ticketTypedData(ticket, chainId, broker));
}

/** keccak256 of the recipient's secret as one uint256 word, as the broker checks it. */
export function recipientRandHash(recipientRand: bigint): Hex {
  return keccak256(encodeAbiParameters([{ type: 'uint256' }], [recipientRand]));
}

/** Whether a ticket signature and recipient secret win against `winProb`. */
export function isWinningTicket(signature: Hex, recipientRand: bigint, winProb: bigint): boolean {
  return BigInt(keccak256(concat([signature, toHex(recipientRand, { size: 32 })]))) < winProb;
}

const MAX_UINT256 = (1n << 256n) - 1n;

/**
 * winProb for a win probability of numerator/denominator, e.g. winProbability(1n, 1000n).
 * Expected value of a ticket = faceValue × numerator / denominator.
 */
export function winProbability(numerator: bigint, denominator: bigint): bigint {
  if (denominator <= 0n || numerator < 0n || numerator > denominator) throw new RangeError('probability must be in [0, 1]');
  return (MAX_UINT256 / denominator) * numerator;
}
