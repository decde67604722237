import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ffmpegPath, isMpegTs, run, segmentFacts } from '@segmint/media';
import { ingestSegment } from '../ingest/segmentIngest.js';
import { storageKeys } from '../ingest/jobIds.js';
import type { PublishedRecord } from '../live/liveState.js';
import type { Pipeline } from '../pipeline.js';
import type { Asset, AssetSegment, AssetStore } from './assetStore.js';

/** Storage key of an asset's rendition segment (same storage as live segments). */
export const assetKey = (assetId: string, rendition: string, seq: number) => `assets/${assetId}/${rendition}/${seq}.ts`;
export const assetPrefix = (assetId: string) => `assets/${assetId}/`;
/** Storage key of an asset's source file (the upload or download), kept until the asset is ready or failed. */
export const assetSourceKey = (assetId: string) => `asset-sources/${assetId}`;

const SEGMENT_SEC = 2;

/**
 * Cuts a file into ~2 s MPEG-TS segments: stream copy when the video is already H.264, else one
 * encode to H.264 with a keyframe every 2 s. Returns the segment files in order.
 */
export async function splitIntoSegments(input: string, dir: string, signal?: AbortSignal): Promise<string[]> {
  const list = async () => (await readdir(dir)).filter((f) => /^\d+\.ts$/.test(f)).sort((a, b) => parseInt(a) - parseInt(b)).map((f) => join(dir, f));
  const segment = ['-f', 'segment', '-segment_time', String(SEGMENT_SEC), '-segment_format', 'mpegts', '-reset_timestamps', '0', join(dir, '%d.ts')];
  const ok = async (files: string[]) => {
    if (files.length === 0) return false;
    for (const f of files) {
      const bytes = await readFile(f);
      if (!isMpegTs(bytes)) return false;
      try {
        const facts = segmentFacts(bytes);
        if (facts.videoCodec !== 'h264' || facts.frames === 0) return false;
      } catch {
        return false;
      }
    }
    return true;
  };
  try {
    await run(ffmpegPath(), ['-hide_banner', '-loglevel', 'error', '-y', '-i', input, '-map', '0:v:0', '-map', '0:a:0?', '-c', 'copy', ...segment], { timeoutMs: 600_000, signal });
    const files = await list();
    if (await ok(files)) return files;
  } catch {
    // not copyable (another codec, or a container the segmenter cannot copy from): encode below
  }
  signal?.throwIfAborted();
  for (const f of await list()) await rm(f, { force: true });
  await run(ffmpegPath(), [
    '-hide_banner', '-loglevel', 'error', '-y', '-i', input, '-map', '0:v:0', '-map', '0:a:0?',
    '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-force_key_frames', `expr:gte(t,n_forced*${SEGMENT_SEC})`, '-sc_threshold', '0',
    '-c:a', 'aac', '-b:a', '128k', '-ac', '2', ...segment,
  ], { timeoutMs: 3_600_000, signal });
  const files = await list();
  if (!(await ok(files))) throw new Error('the file has no video ffmpeg can read');
  return files;
}

/** ready or failed; interrupted: `signal` aborted (the orchestrator is stopping), the asset is left as it was for another to take over. */
export type AssetOutcome = { asset: Asset; phase: 'ready' | 'failed' | 'interrupted' };

/**
 * Transcodes an asset through the marketplace like a live stream (an internal, ownerless stream
 * carries its segments), keeping every rendition segment under the asset's own keys as it is
 * published. At most a live window of segments is in flight, so none is evicted before it is kept.
 * Progress (0–1) is the share of segments published.
 */
export async function processAsset(p: Pipeline, store: AssetStore, asset: Asset, input: string, signal?: AbortSignal): Promise<AssetOutcome> {
  const log = p.logger.child({ assetId: asset.id });
  const dir = await mkdtemp(join(tmpdir(), 'segmint-asset-'));
  const fail = async (message: string): Promise<AssetOutcome> => {
    if (signal?.aborted) {
      log.info('asset processing interrupted: left for the next orchestrator');
      return { asset, phase: 'interrupted' };
    }
    log.warn({ message }, 'asset failed');
    await store.update(asset.id, { phase: 'failed', errorMessage: message });
    return { asset: (await store.get(asset.id)) ?? asset, phase: 'failed' };
  };
  try {
    await store.update(asset.id, { phase: 'processing', progress: 0 });
    let files: string[];
    try {
      files = await splitIntoSegments(input, dir, signal);
    } catch (err) {
      return await fail(`could not read the video: ${(err as Error).message.split('\n')[0]}`);
    }
    const stream = await p.streams.create({ name: `asset ${asset.id}`, profiles: asset.profiles });
    await store.update(asset.id, { streamId: stream.id });

    const kept: AssetSegment[] = [];
    let chain = Promise.resolve();
    const onPublished = (streamId: string, records: PublishedRecord[]) => {
      if (streamId !== stream.id) return;
      chain = chain.then(async () => {
        for (const { entry } of records) {
          for (const name of Object.keys(entry.renditions)) {
            await p.storage.move(storageKeys.rendition(stream.id, name, entry.session, entry.seq, entry.rev), assetKey(asset.id, name, entry.seq));
          }
          kept.push({ seq: entry.seq, durationSec: entry.durationSec, renditions: entry.renditions });
        }
        await store.update(asset.id, { progress: Math.min(0.99, kept.length / files.length) });
      }).catch((err) => log.error({ err }, 'could not keep asset segments'));
    };
    p.events.on('published', onPublished);
    try {
      const window = Math.max(1, p.config.hlsWindow);
      for (const [seq, file] of files.entries()) {
        while (seq - kept.length >= window) {
          signal?.throwIfAborted();
          await sleep(100);
        }
        signal?.throwIfAborted();
        await ingestSegment(p, stream, seq, await readFile(file));
      }
      // every segment published or skipped (after its attempts): nothing left in flight
      while ((await p.live.snapshot(stream.id)).inflight > 0) {
        signal?.throwIfAborted();
        await sleep(250);
      }
      await chain;
    } finally {
      p.events.off('published', onPublished);
      await p.endSession(stream.id).catch(() => {});
      await p.live.clear(stream.id).catch(() => {});
      await p.storage.deletePrefix(`${stream.id}/`).catch(() => {});
    }
    signal?.throwIfAborted();
    kept.sort((a, b) => a.seq - b.seq);
    if (kept.length < files.length) {
      const missing = files.map((_, i) => i).filter((i) => !kept.some((k) => k.seq === i));
      return await fail(`segments ${missing.join(', ')} could not be transcoded`);
    }
    const durationSec = kept.reduce((s, k) => s + k.durationSec, 0);
    await store.update(asset.id, { phase: 'ready', progress: 1, segments: kept, durationSec });
    log.info({ segments: kept.length, durationSec }, 'asset ready');
    return { asset: (await store.get(asset.id)) ?? asset, phase: 'ready' };
  } catch (err) {
    if (!signal?.aborted) log.error({ err }, 'asset processing failed');
    return await fail(`processing failed: ${(err as Error).message}`);
  } finally {
    // the input is the caller's (kept until the asset is done: see AssetRunner)
    await rm(dir, { recursive: true, force: true });
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
