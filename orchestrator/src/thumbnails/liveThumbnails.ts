import { ffmpegPath, run } from '@segmint/media';
import { SOURCE_RENDITION } from '@segmint/protocol';
import { storageKeys } from '../ingest/jobIds.js';
import type { Pipeline } from '../pipeline.js';

/** Storage key of a live segment's thumbnail (beside its segments, under the same storage). */
export const thumbnailKey = (streamId: string, session: number, seq: number, rev?: number) => `${streamId}/thumbnails/${session}_${seq}${rev ? `r${rev}` : ''}.jpg`;

async function readAll(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c);
  return Buffer.concat(chunks);
}

/**
 * The JPEG of a live stream's latest published segment (Studio's live thumbnail): its first frame,
 * a keyframe, so one frame is decoded. Made on the first request for that segment, kept in segment
 * storage (any orchestrator serves it again) and dropped when the next segment's is made.
 */
export class LiveThumbnails {
  private readonly making = new Map<string, Promise<Buffer | null>>();
  private readonly previous = new Map<string, string>();

  constructor(private readonly p: Pipeline) {}

  /** Null while the stream has published nothing. */
  async latest(streamId: string): Promise<Buffer | null> {
    const { published } = await this.p.live.snapshot(streamId);
    const entry = published[published.length - 1]?.entry;
    if (!entry?.renditions[SOURCE_RENDITION]) return null;
    const key = thumbnailKey(streamId, entry.session, entry.seq, entry.rev);
    let job = this.making.get(key);
    if (!job) {
      job = this.make(streamId, key, storageKeys.rendition(streamId, SOURCE_RENDITION, entry.session, entry.seq, entry.rev)).finally(() => this.making.delete(key));
      this.making.set(key, job);
    }
    return job;
  }

  private async make(streamId: string, key: string, segmentKey: string): Promise<Buffer | null> {
    const kept = await this.p.storage.read(key);
    if (kept) return readAll(kept.stream);
    const segment = await this.p.storage.read(segmentKey);
    if (!segment) return null; // evicted meanwhile: the next request finds a newer one
    const { stdout } = await run(ffmpegPath(), ['-hide_banner', '-loglevel', 'error', '-f', 'mpegts', '-i', 'pipe:0', '-map', '0:v:0', '-frames:v', '1', '-q:v', '4', '-f', 'image2', '-c:v', 'mjpeg', 'pipe:1'], { input: segment.stream, timeoutMs: 20_000 });
    await this.p.storage.put(key, stdout);
    const before = this.previous.get(streamId);
    this.previous.set(streamId, key);
    if (before && before !== key) await this.p.storage.delete([before]).catch(() => {});
    return stdout;
  }
}
