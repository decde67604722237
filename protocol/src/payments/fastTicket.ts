/**
 * The fast ticket path: EIP-712 digest, signature and check of a TicketBroker ticket without
 * viem's generic typed-data machinery. Same bytes as `ticketHash` / viem's `signTypedData`
 * (tested against both and against the contract on anvil), but:
 * - the domain separator and type hash are computed once per (chain, broker);
 * - the struct is encoded into one fixed 256-byte buffer (7 static fields, no ABI walk);
 * - the curve math is libsecp256k1's (see secp256k1Backend.ts), and a known sender's key is
 *   compared as bytes: no keccak of the recovered key after the first ticket.
 * Signatures are low-s, 65 bytes r ‖ s ‖ v (v = 27/28), what OpenZeppelin's ECDSA accepts.
 */
import { keccak_256 } from '@noble/hashes/sha3';
import { getAddress, type Address, type Hex } from 'viem';
import type { Ticket } from '../contracts/ticket.js';
import { secp256k1Backend, type Secp256k1Backend } from './secp256k1Backend.js';

const enc = new TextEncoder();
const TICKET_TYPEHASH = keccak_256(
  enc.encode('Ticket(address recipient,address sender,uint256 faceValue,uint256 winProb,uint256 senderNonce,bytes32 recipientRandHash,uint256 expiry)'),
);
const DOMAIN_TYPEHASH = keccak_256(enc.encode('EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)'));
/** s above n/2 is the malleated twin of a valid signature: the broker (OpenZeppelin ECDSA) refuses it. */
const HALF_N = Buffer.from('7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0', 'hex');

function putWord(buf: Uint8Array, offset: number, v: bigint): void {
  if (v < 0n || v >= 1n << 256n) throw new RangeError('uint256 out of range');
  Buffer.from(buf.buffer, buf.byteOffset + offset, 32).write(v.toString(16).padStart(64, '0'), 'hex');
}

function putHex(buf: Uint8Array, offset: number, hex: string, bytes: number): void {
  const h = hex.startsWith('0x') ? hex.slice(2) : hex;
  // Buffer's hex decoding stops at the first bad digit, so a short write means bad input.
  const written = h.length === bytes * 2 ? Buffer.from(buf.buffer, buf.byteOffset + offset + 32 - bytes, bytes).write(h, 'hex') : -1;
  if (written !== bytes) throw new RangeError(`expected ${bytes} bytes of hex`);
}

const toHex = (b: Uint8Array): Hex => `0x${Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')}`;
const fromHex = (h: string): Buffer => Buffer.from(h.startsWith('0x') ? h.slice(2) : h, 'hex');

/** Ethereum address of an uncompressed public key point. */
const addressOf = (pub: Uint8Array): Address => getAddress(toHex(keccak_256(pub.subarray(1)).subarray(12)));

/**
 * EIP-712 digests of tickets for one TicketBroker deployment.
 * @example
 * const codec = new TicketCodec(31337, broker);
 * const digest = codec.digest(ticket); // = ticketHash(ticket, 31337, broker)
 */
export class TicketCodec {
  private readonly prefix = new Uint8Array(66);
  private readonly struct = new Uint8Array(256);

  constructor(
    readonly chainId: number,
    readonly broker: Address,
  ) {
    const domain = new Uint8Array(160);
    domain.set(DOMAIN_TYPEHASH, 0);
    domain.set(keccak_256(enc.encode('Segmint TicketBroker')), 32);
    domain.set(keccak_256(enc.encode('1')), 64);
    putWord(domain, 96, BigInt(chainId));
    putHex(domain, 128, broker, 20);
    this.prefix[0] = 0x19;
    this.prefix[1] = 0x01;
    this.prefix.set(keccak_256(domain), 2);
    this.struct.set(TICKET_TYPEHASH, 0);
  }

  /** The 32-byte digest a sender signs (also the broker's `usedTickets` key). */
  digestBytes(t: Ticket): Uint8Array {
    const s = this.struct;
    s.fill(0, 32);
    putHex(s, 32, t.recipient, 20);
    putHex(s, 64, t.sender, 20);
    putWord(s, 96, t.faceValue);
    putWord(s, 128, t.winProb);
    putWord(s, 160, t.senderNonce);
    putHex(s, 192, t.recipientRandHash, 32);
    putWord(s, 224, t.expiry);
    this.prefix.set(keccak_256(s), 34);
    return keccak_256(this.prefix);
  }

  digest(t: Ticket): Hex {
    return toHex(this.digestBytes(t));
  }
}

/**
 * Signs tickets with one sender key (deterministic RFC 6979: the same ticket always gets the same
 * signature, which makes re-sending a payment idempotent).
 */
export class TicketSigner {
  readonly address: Address;
  private readonly key: Uint8Array;

  constructor(
    privateKey: Hex,
    readonly codec: TicketCodec,
    private readonly curve: Secp256k1Backend = secp256k1Backend,
  ) {
    this.key = fromHex(privateKey);
    this.address = addressOf(curve.publicKey(this.key));
  }

  /** 65-byte signature r ‖ s ‖ v of the ticket's EIP-712 digest. */
  sign(t: Ticket): Hex {
    const { signature, recid } = this.curve.sign(this.codec.digestBytes(t), this.key);
    const out = Buffer.alloc(65);
    out.set(signature, 0);
    out[64] = 27 + recid;
    return `0x${out.toString('hex')}`;
  }
}

/**
 * Checks tickets of one expected sender: the signature must be a low-s ECDSA signature of the
 * ticket's digest by that sender, with the v the broker's ECDSA.tryRecover uses. The sender's
 * public key is learnt from the first signature that recovers to the sender's address; after
 * that a check is a recovery and a 65-byte compare.
 */
export class TicketVerifier {
  private publicKey: Buffer | null = null;
  private readonly senderLower: string;

  constructor(
    readonly sender: Address,
    readonly codec: TicketCodec,
    private readonly curve: Secp256k1Backend = secp256k1Backend,
  ) {
    this.senderLower = sender.toLowerCase();
  }

  /** Whether `sig` is `sender`'s signature of the ticket (the ticket's own sender field must match). */
  verify(t: Ticket, sig: Hex): boolean {
    if (t.sender.toLowerCase() !== this.senderLower) return false;
    const bytes = fromHex(sig);
    if (bytes.length !== 65 || sig.length !== 132) return false;
    const v = bytes[64]!;
    if (v !== 27 && v !== 28) return false;
    if (bytes.compare(HALF_N, 0, 32, 32, 64) > 0) return false;
    const pub = this.curve.recover(this.codec.digestBytes(t), bytes.subarray(0, 64), v - 27);
    if (!pub) return false;
    if (this.publicKey) return this.publicKey.equals(pub);
    if (addressOf(pub) !== getAddress(this.sender)) return false;
    this.publicKey = Buffer.from(pub);
    return true;
  }
}
