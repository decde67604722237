import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ffmpegPath, run } from '@segmint/media';
import { assetKey } from '../assets/assetProcessor.js';
import type { Asset, AssetStore, TranscodeSource } from '../assets/assetStore.js';
import type { OutboundPolicy } from '../egress/outboundAddress.js';
import { renderVodMaster, renderVodPlaylist } from '../api/routes/vod.js';
import type { Pipeline } from '../pipeline.js';
import { presignedGet, putObject } from './s3Object.js';

const M3U8 = 'application/vnd.apple.mpegurl';
const dirOf = (path: string) => path.split('/').filter(Boolean).join('/');

/** Where a transcode job reads its input: the URL, or a presigned GET of the object in the caller's bucket. */
export function transcodeInputUrl(s: TranscodeSource): URL {
  return 'url' in s.input ? new URL(s.input.url) : presignedGet(s.input, s.input.path);
}

async function readAll(p: Pipeline, key: string): Promise<Buffer> {
  const obj = await p.storage.read(key);
  if (!obj) throw new Error(`${key} is gone`);
  const chunks: Buffer[] = [];
  for await (const c of obj.stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Writes a transcoded job's outputs to the caller's bucket: HLS (master, one media playlist per
 * rendition, its segments) under outputs.hls.path, and one MP4 per rendition (its segments
 * remuxed, no re-encode) under outputs.mp4.path. Then marks the job delivered (or failed, why).
 */
export async function deliverOutputs(p: Pipeline, assets: AssetStore, asset: Asset, outbound: OutboundPolicy): Promise<void> {
  const s = asset.source as TranscodeSource;
  const renditions = Object.keys(asset.segments[0]?.renditions ?? {});
  try {
    if (renditions.length === 0) throw new Error('nothing was transcoded');
    if (s.outputs.hls) {
      const base = dirOf(s.outputs.hls.path);
      await putObject(s.storage, `${base}/index.m3u8`, Buffer.from(renderVodMaster(asset.segments)), M3U8, outbound);
      for (const r of renditions) {
        await putObject(s.storage, `${base}/${r}/index.m3u8`, Buffer.from(renderVodPlaylist(asset.segments, r)), M3U8, outbound);
        for (const seg of asset.segments.filter((x) => x.renditions[r])) {
          await putObject(s.storage, `${base}/${r}/${seg.seq}.ts`, await readAll(p, assetKey(asset.id, r, seg.seq)), 'video/mp2t', outbound);
        }
      }
    }
    if (s.outputs.mp4) {
      const base = dirOf(s.outputs.mp4.path);
      for (const r of renditions) await putObject(s.storage, `${base}/${r}.mp4`, await mp4Of(p, asset, r), 'video/mp4', outbound);
    }
    await assets.setSource(asset.id, { ...s, delivered: true });
  } catch (err) {
    p.logger.warn({ err, assetId: asset.id }, 'could not deliver transcode outputs');
    await assets.setSource(asset.id, { ...s, deliverError: `could not write the outputs: ${(err as Error).message}` });
  }
}

/** One rendition's segments joined and remuxed into an MP4 (moov first, for progressive playback). */
async function mp4Of(p: Pipeline, asset: Asset, rendition: string): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'segmint-mp4-'));
  try {
    const parts = await Promise.all(asset.segments.filter((x) => x.renditions[rendition]).map((seg) => readAll(p, assetKey(asset.id, rendition, seg.seq))));
    await writeFile(join(dir, 'in.ts'), Buffer.concat(parts));
    await run(ffmpegPath(), ['-hide_banner', '-loglevel', 'error', '-y', '-i', join(dir, 'in.ts'), '-map', '0:v:0', '-map', '0:a:0?', '-c', 'copy', '-movflags', '+faststart', '-f', 'mp4', join(dir, 'out.mp4')], { timeoutMs: 600_000 });
    return await readFile(join(dir, 'out.mp4'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
