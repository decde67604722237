/**
 * The fast ticket path: EIP-712 digest, signature and check of a TicketBroker ticket without
 * viem's generic typed-data machinery. Same bytes as `ticketHash` / viem's `signTypedData`
 * (tested against both and against the contract on anvil), but:
 * - the domain separator and type hash are computed once per (chain, broker);
 * - the struct is encoded into one fixed 256-byte buffer (7 static fields, no ABI walk);
 * - a known sender's public key is precomputed (a windowed table), so a check is one ECDSA verify
 *   with two precomputed points instead of a public-key recovery (which must first lift R from r).
 * Signatures are low-s, 65 bytes r ‖ s ‖ v (v = 27/28), what OpenZeppelin's ECDSA accepts.
 */
import { secp256k1 } from '@noble/curves/secp256k1';
import { keccak_256 } from '@noble/hashes/sha3';
import { getAddress, type Address, type Hex } from 'viem';
import type { Ticket } from '../contracts/ticket.js';

const enc = new TextEncoder();
const TICKET_TYPEHASH = keccak_256(
  enc.encode('Ticket(address recipient,address sender,uint256 faceValue,uint256 winProb,uint256 senderNonce,bytes32 recipientRandHash,uint256 expiry)'),
);
const DOMAIN_TYPEHASH = keccak_256(enc.encode('EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)'));

function putWord(buf: Uint8Array, offset: number, v: bigint): void {
  if (v < 0n || v >= 1n << 256n) throw new RangeError('uint256 out of range');
  for (let i = 31; i >= 0; i--) {
    buf[offset + i] = Number(v & 0xffn);
    v >>= 8n;
  }
}

function putHex(buf: Uint8Array, offset: number, hex: string, bytes: number): void {
  const h = hex.startsWith('0x') ? hex.slice(2) : hex;
  if (h.length !== bytes * 2 || !/^[0-9a-fA-F]*$/.test(h)) throw new RangeError(`expected ${bytes} bytes of hex`);
  const at = offset + 32 - bytes;
  for (let i = 0; i < bytes; i++) buf[at + i] = parseInt(h.slice(i * 2, i * 2 + 2), 16);
}

const toHex = (b: Uint8Array): Hex => `0x${Buffer.from(b).toString('hex')}`;
const fromHex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h.startsWith('0x') ? h.slice(2) : h, 'hex'));

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
  ) {
    this.key = fromHex(privateKey);
    this.address = addressOf(secp256k1.getPublicKey(this.key, false));
  }

  /** 65-byte signature r ‖ s ‖ v of the ticket's EIP-712 digest. */
  sign(t: Ticket): Hex {
    const sig = secp256k1.sign(this.codec.digestBytes(t), this.key, { lowS: true });
    const out = new Uint8Array(65);
    out.set(sig.toCompactRawBytes(), 0);
    out[64] = 27 + sig.recovery;
    return toHex(out);
  }
}

/**
 * Checks tickets of one expected sender: the signature must be a low-s ECDSA signature of the
 * ticket's digest by that sender (what the broker's ECDSA.tryRecover accepts). The sender's public
 * key is learnt once from a first valid signature (recovery), then checks are plain verifies.
 */
export class TicketVerifier {
  private point: ReturnType<typeof secp256k1.ProjectivePoint.fromHex> | null = null;
  private readonly senderLower: string;

  constructor(
    readonly sender: Address,
    readonly codec: TicketCodec,
  ) {
    this.senderLower = sender.toLowerCase();
  }

  /** Whether `sig` is `sender`'s signature of the ticket (the ticket's own sender field must match). */
  verify(t: Ticket, sig: Hex): boolean {
    if (t.sender.toLowerCase() !== this.senderLower) return false;
    const bytes = fromHex(sig);
    if (bytes.length !== 65) return false;
    const v = bytes[64]!;
    if (v !== 27 && v !== 28) return false;
    const digest = this.codec.digestBytes(t);
    const compact = bytes.subarray(0, 64);
    let parsed;
    try {
      parsed = secp256k1.Signature.fromCompact(compact);
    } catch {
      return false;
    }
    if (parsed.hasHighS()) return false;
    if (!this.point) {
      let pub;
      try {
        pub = parsed.addRecoveryBit(v - 27).recoverPublicKey(digest);
      } catch {
        return false;
      }
      if (addressOf(pub.toRawBytes(false)) !== getAddress(this.sender)) return false;
      pub._setWindowSize(8);
      this.point = pub;
      return true;
    }
    // One double multiplication with both points precomputed: R = u1·G + u2·Q must have x = r
    // and the y parity v says (the broker recovers with v: the other parity is someone else's key).
    const { n } = secp256k1.CURVE;
    const sinv = modInv(parsed.s, n);
    // multiply(), not multiplyUnsafe(): @noble/curves 1.9.0's unsafe path gives wrong points for
    // a non-base point with a window table (tested in fastTicket.test.ts).
    const u1 = ((bytesToBigInt(digest) % n) * sinv) % n;
    const u2 = (parsed.r * sinv) % n;
    const R = (u1 === 0n ? this.point.multiply(u2) : secp256k1.ProjectivePoint.BASE.multiply(u1).add(this.point.multiply(u2)));
    if (R.equals(secp256k1.ProjectivePoint.ZERO)) return false;
    const { x, y } = R.toAffine();
    return x === parsed.r && Number(y & 1n) === v - 27;
  }
}

function bytesToBigInt(b: Uint8Array): bigint {
  return BigInt(`0x${Buffer.from(b).toString('hex')}`);
}

function modInv(a: bigint, m: bigint): bigint {
  let [old, r] = [a % m, m];
  let [x, y] = [1n, 0n];
  while (r !== 0n) {
    const q = old / r;
    [old, r] = [r, old - q * r];
    [x, y] = [y, x - q * y];
  }
  return ((x % m) + m) % m;
}
