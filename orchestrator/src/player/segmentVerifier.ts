/**
 * Browser side of the signed segment hashes: checks a segment's bytes against the orchestrator's
 * signed record in the rendition's sidecar (protocol/src/delivery/segmentHashes.ts).
 */
import { sha256 } from '@noble/hashes/sha2';
import { bytesToHex } from '@noble/hashes/utils';
import type { Address } from 'viem';
import { isSignedSegmentHash, type SegmentHashSidecar, type SignedSegmentHash } from '../../../protocol/src/delivery/segmentHashes.js';

export type Verdict = 'ok' | 'mismatch' | 'unknown';

type Sidecar = { records: Map<string, SignedSegmentHash>; fetchedAt: number; pending?: Promise<void> };

/** `.../hls/PLAYBACK_ID/RENDITION/FILE.ts?…` → its parts; null for anything else. */
export function segmentUrlParts(url: string): { dir: string; playbackId: string; rendition: string; uri: string } | null {
  const m = /^(.*\/hls\/([^/?#]+)\/([^/?#]+)\/)([^/?#]+\.ts)(?:[?#].*)?$/.exec(url);
  return m ? { dir: m[1]!, playbackId: decodeURIComponent(m[2]!), rendition: decodeURIComponent(m[3]!), uri: m[4]! } : null;
}

/**
 * Keeps each rendition's sidecar (fetched from the origin, refetched when a segment is not in it
 * yet, at most every 500 ms) and answers whether bytes are the segment the orchestrator signed.
 * A record's signature is checked once, against the signer the origin named, never the sidecar's.
 */
export class SegmentVerifier {
  private readonly sidecars = new Map<string, Sidecar>();
  private readonly verified = new Set<string>();

  constructor(private readonly signer: Address, private readonly query = '') {}

  async check(url: string, data: ArrayBuffer | Uint8Array): Promise<Verdict> {
    const parts = segmentUrlParts(url);
    if (!parts) return 'unknown';
    const record = await this.record(parts.dir, parts.uri);
    if (!record) return 'unknown';
    const key = `${parts.dir}${record.uri}:${record.sha256}`;
    if (!this.verified.has(key)) {
      if (!(await isSignedSegmentHash(parts.playbackId, parts.rendition, record, this.signer))) return 'unknown';
      this.verified.add(key);
    }
    const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
    return bytes.byteLength === record.bytes && bytesToHex(sha256(bytes)) === record.sha256 ? 'ok' : 'mismatch';
  }

  private async record(dir: string, uri: string): Promise<SignedSegmentHash | undefined> {
    let car = this.sidecars.get(dir);
    if (!car) this.sidecars.set(dir, (car = { records: new Map(), fetchedAt: 0 }));
    if (!car.records.has(uri)) {
      if (!car.pending && Date.now() - car.fetchedAt >= 500) car.pending = this.refresh(dir, car).finally(() => (car!.pending = undefined));
      await car.pending;
    }
    return car.records.get(uri);
  }

  private async refresh(dir: string, car: Sidecar): Promise<void> {
    car.fetchedAt = Date.now();
    try {
      const res = await fetch(`${dir}hashes.json${this.query}`, { cache: 'no-store' });
      if (!res.ok) return;
      const body = (await res.json()) as SegmentHashSidecar;
      for (const s of body.segments ?? []) car.records.set(s.uri, s);
      // keep the map bounded: a live window is a few dozen segments
      while (car.records.size > 200) car.records.delete(car.records.keys().next().value!);
    } catch {
      // origin unreachable: the segment stays unverifiable (refused from peers)
    }
  }
}
