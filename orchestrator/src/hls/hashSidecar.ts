import type { SegmentHashSidecar, SignedSegmentHash } from '@segmint/protocol';
import { segmentFile } from '../ingest/jobIds.js';
import type { PublishedRecord } from '../live/liveState.js';
import type { SegmentSigner } from './segmentSigner.js';

export type HashSidecarParameters = {
  playbackId: string;
  rendition: string;
  published: readonly PublishedRecord[];
  /** Segments listed in the live window (the same as the media playlist). */
  window: number;
  signer: SegmentSigner;
};

/**
 * The signed hash sidecar of one media playlist: every segment its live window lists, with the
 * file's length and sha256, each record signed (protocol/src/delivery/segmentHashes.ts). Segments
 * published before files were hashed are left out (a player then takes them from the origin only).
 */
export async function renderHashSidecar(p: HashSidecarParameters): Promise<SegmentHashSidecar> {
  const listed = p.published.filter((r) => r.entry.renditions[p.rendition]).slice(-p.window);
  const segments: SignedSegmentHash[] = [];
  for (const r of listed) {
    const facts = r.entry.renditions[p.rendition]!;
    if (!facts.sha256) continue;
    const record = { uri: segmentFile(r.entry.session, r.entry.seq, r.entry.rev), bytes: facts.bytes, sha256: facts.sha256 };
    segments.push({ ...record, signature: await p.signer.sign(p.playbackId, p.rendition, record) });
  }
  return { version: 1, playbackId: p.playbackId, rendition: p.rendition, signer: p.signer.address, segments };
}
