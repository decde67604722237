/**
 * secp256k1 sign and recover for the ticket hot path. libsecp256k1 (the C library Bitcoin Core
 * and geth use) through the `secp256k1` package's prebuilt N-API binding when it loads — ~10×
 * the pure-JS @noble/curves on one core — else @noble/curves. Both are RFC 6979 deterministic
 * and low-s, so they produce the same signature bytes (tested).
 *
 * We load `secp256k1/bindings` directly: the package's own entry silently falls back to
 * `elliptic`, and we would rather fall back to @noble/curves and say so.
 */
import { createRequire } from 'node:module';
import { secp256k1 as noble } from '@noble/curves/secp256k1';

export interface Secp256k1Backend {
  readonly name: 'libsecp256k1' | '@noble/curves';
  /** 64-byte compact r ‖ s (low s) and the recovery id of the signature of a 32-byte digest. */
  sign(digest: Uint8Array, key: Uint8Array): { signature: Uint8Array; recid: number };
  /** 65-byte uncompressed public key, or null when the signature recovers to no point. */
  recover(digest: Uint8Array, compact: Uint8Array, recid: number): Uint8Array | null;
  /** 65-byte uncompressed public key of a private key. */
  publicKey(key: Uint8Array): Uint8Array;
}

interface NativeBinding {
  ecdsaSign(msg32: Uint8Array, key: Uint8Array): { signature: Uint8Array; recid: number };
  ecdsaRecover(sig: Uint8Array, recid: number, msg32: Uint8Array, compressed: boolean): Uint8Array;
  publicKeyCreate(key: Uint8Array, compressed: boolean): Uint8Array;
}

const nobleBackend: Secp256k1Backend = {
  name: '@noble/curves',
  sign(digest, key) {
    const sig = noble.sign(digest, key, { lowS: true });
    return { signature: sig.toCompactRawBytes(), recid: sig.recovery };
  },
  recover(digest, compact, recid) {
    try {
      return noble.Signature.fromCompact(compact).addRecoveryBit(recid).recoverPublicKey(digest).toRawBytes(false);
    } catch {
      return null;
    }
  },
  publicKey: (key) => noble.getPublicKey(key, false),
};

function nativeBackend(): Secp256k1Backend | null {
  if (process.env.SEGMINT_SECP256K1 === 'noble') return null;
  let native: NativeBinding;
  try {
    native = createRequire(import.meta.url)('secp256k1/bindings') as NativeBinding;
  } catch {
    return null; // no prebuilt binary for this platform
  }
  return {
    name: 'libsecp256k1',
    sign: (digest, key) => native.ecdsaSign(digest, key),
    recover(digest, compact, recid) {
      try {
        return native.ecdsaRecover(compact, recid, digest, false);
      } catch {
        return null; // r or s out of range, or no point with that x
      }
    },
    publicKey: (key) => native.publicKeyCreate(key, false),
  };
}

export const secp256k1Backend: Secp256k1Backend = nativeBackend() ?? nobleBackend;
export { nobleBackend };
