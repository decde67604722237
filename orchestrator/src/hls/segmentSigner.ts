import { createHash } from 'node:crypto';
import { keccak256, toBytes, type Address, type Hex } from 'viem';
import { privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts';
import { segmentHashDigest, segmentHashTypedData, type SegmentHash } from '@segmint/protocol';
import type { SegmentStorage } from '../storage/segmentStorage.js';

const CACHE_MAX = 50_000;

/**
 * Signs segment hash records (protocol/src/delivery/segmentHashes.ts) with the orchestrator's
 * segment signing key. Every orchestrator of a deployment derives the same key from the deployment
 * secret unless SEGMINT_SEGMENT_SIGNING_KEY names one, so players see one signer whichever
 * orchestrator answers. Each record is signed once per process (cached by its digest).
 */
export class SegmentSigner {
  private readonly account: PrivateKeyAccount;
  private readonly cache = new Map<Hex, Hex>();

  constructor(key: Hex) {
    this.account = privateKeyToAccount(key);
  }

  /** The key SEGMINT_SEGMENT_SIGNING_KEY gives, else one derived from the deployment secret. */
  static fromConfig(givenKey: Hex | undefined, secret: string): SegmentSigner {
    return new SegmentSigner(givenKey ?? keccak256(toBytes(`segmint/segment-signing-key/v1:${secret}`)));
  }

  get address(): Address {
    return this.account.address;
  }

  async sign(playbackId: string, rendition: string, s: SegmentHash): Promise<Hex> {
    const digest = segmentHashDigest(playbackId, rendition, s);
    let sig = this.cache.get(digest);
    if (!sig) {
      sig = await this.account.signTypedData(segmentHashTypedData(playbackId, rendition, s));
      if (this.cache.size >= CACHE_MAX) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(digest, sig);
    }
    return sig;
  }
}

export type FileHash = { sha256: string; bytes: number };

/** sha256 (hex) and length of a stored file, read as a stream; null when it is not there. */
export async function hashStored(storage: SegmentStorage, key: string): Promise<FileHash | null> {
  const obj = await storage.read(key);
  if (!obj) return null;
  const h = createHash('sha256');
  let bytes = 0;
  for await (const chunk of obj.stream) {
    h.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: h.digest('hex'), bytes };
}
