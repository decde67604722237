import { SOURCE_RENDITION } from '@segmint/protocol';
import { segmentFile } from '../ingest/jobIds.js';
import type { Pipeline } from '../pipeline.js';
import type { Stream } from '../streams/streamStore.js';

export type SegmentFacts = { rendition: string; uri: string; bytes: number; sha256: string; durationSec: number };

/** What receipts and fault reports are checked against: the segments of a stream the orchestrator hashed and signs. */
export type StreamSegments = {
  stream: Stream;
  /** `rendition/uri` → facts, for every hashed segment still in the live state. */
  byId: Map<string, SegmentFacts>;
  /** Top measured bitrate over the window, bytes per second (the largest rendition's size ÷ duration). */
  topBytesPerSec: number;
};

const TTL_MS = 1000;

/**
 * Reads a stream's published segments from the live state (the same records the hash sidecar signs),
 * cached for a second per playback id: a batch of receipts costs one read per stream.
 */
export class SignedSegments {
  private readonly cache = new Map<string, { at: number; value: Promise<StreamSegments | null> }>();

  constructor(private readonly p: Pipeline) {}

  get(playbackId: string): Promise<StreamSegments | null> {
    const hit = this.cache.get(playbackId);
    if (hit && Date.now() - hit.at < TTL_MS) return hit.value;
    return this.reload(playbackId);
  }

  /**
   * As get(), read no earlier than `since` (ms): a segment published a moment ago is in the
   * sidecar a viewer verified against before the cached read has it, so a receipt or report for
   * a segment the cached read lacks asks for this, once per batch (`since`: when the batch came in).
   */
  fresh(playbackId: string, since: number): Promise<StreamSegments | null> {
    const hit = this.cache.get(playbackId);
    if (hit && hit.at >= since) return hit.value;
    return this.reload(playbackId);
  }

  private reload(playbackId: string): Promise<StreamSegments | null> {
    if (this.cache.size > 10_000) this.cache.clear();
    const value = this.load(playbackId).catch((err) => {
      this.cache.delete(playbackId);
      throw err;
    });
    this.cache.set(playbackId, { at: Date.now(), value });
    return value;
  }

  private async load(playbackId: string): Promise<StreamSegments | null> {
    const stream = await this.p.streams.getByPlaybackId(playbackId);
    if (!stream) return null;
    const { published } = await this.p.live.snapshot(stream.id);
    const byId = new Map<string, SegmentFacts>();
    let top = 0;
    for (const r of published) {
      for (const [rendition, f] of Object.entries(r.entry.renditions)) {
        if (f.durationSec > 0) top = Math.max(top, f.bytes / f.durationSec);
        if (!f.sha256) continue;
        const uri = segmentFile(r.entry.session, r.entry.seq, r.entry.rev);
        byId.set(`${rendition}/${uri}`, { rendition, uri, bytes: f.bytes, sha256: f.sha256, durationSec: f.durationSec });
      }
    }
    return { stream, byId, topBytesPerSec: top };
  }
}

export { SOURCE_RENDITION };
