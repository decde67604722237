/**
 * Signed segment hashes: what a player checks every segment it got from a peer against.
 *
 * For each rendition the orchestrator serves a sidecar beside the media playlist
 * (`/hls/PLAYBACK_ID/RENDITION/hashes.json`) listing, for every segment in the live window, its
 * file name, byte length and sha256, each signed with EIP-712 (domain below, no chain: the record
 * is not for a contract) by the orchestrator's segment signing key. The player knows the signer's
 * address from the origin (the watch page, or `GET /api/playback/:id`), never from a peer.
 *
 * Pure: viem only, so the browser bundle imports this file as it is.
 */
import { hashTypedData, recoverTypedDataAddress, type Address, type Hex } from 'viem';

export const SEGMENT_HASH_DOMAIN = { name: 'Segmint segments', version: '1' } as const;

export const SEGMENT_HASH_TYPES = {
  SegmentHash: [
    { name: 'playbackId', type: 'string' },
    { name: 'rendition', type: 'string' },
    { name: 'uri', type: 'string' },
    { name: 'bytes', type: 'uint64' },
    { name: 'sha256', type: 'bytes32' },
  ],
} as const;

/** One segment's signed facts: `uri` is the file name as the media playlist lists it. */
export type SegmentHash = { uri: string; bytes: number; sha256: string };
export type SignedSegmentHash = SegmentHash & { signature: Hex };

/** The sidecar of one media playlist (format version 1). */
export type SegmentHashSidecar = {
  version: 1;
  playbackId: string;
  rendition: string;
  /** Informative: players check against the signer the origin told them, not this. */
  signer: Address;
  segments: SignedSegmentHash[];
};

/** EIP-712 typed data of one segment's record (sign it with viem's `signTypedData`). */
export function segmentHashTypedData(playbackId: string, rendition: string, s: SegmentHash) {
  return {
    domain: SEGMENT_HASH_DOMAIN,
    types: SEGMENT_HASH_TYPES,
    primaryType: 'SegmentHash' as const,
    message: { playbackId, rendition, uri: s.uri, bytes: BigInt(s.bytes), sha256: `0x${s.sha256}` as Hex },
  };
}

/** The EIP-712 digest a signature covers. */
export const segmentHashDigest = (playbackId: string, rendition: string, s: SegmentHash): Hex =>
  hashTypedData(segmentHashTypedData(playbackId, rendition, s));

/** True when `s.signature` is `signer`'s signature over this segment of this stream and rendition. */
export async function isSignedSegmentHash(playbackId: string, rendition: string, s: SignedSegmentHash, signer: Address): Promise<boolean> {
  if (!/^[0-9a-f]{64}$/.test(s.sha256) || !Number.isSafeInteger(s.bytes) || s.bytes < 0) return false;
  try {
    const by = await recoverTypedDataAddress({ ...segmentHashTypedData(playbackId, rendition, s), signature: s.signature });
    return by.toLowerCase() === signer.toLowerCase();
  } catch {
    return false;
  }
}
