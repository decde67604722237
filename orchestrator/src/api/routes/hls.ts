import type { FastifyPluginAsync } from 'fastify';
import { ApiError, capProfiles, SOURCE_RENDITION } from '@segmint/protocol';
import { parseSegmentFile, storageKeys } from '../../ingest/jobIds.js';
import { renderMasterPlaylist, renderMediaPlaylist, variantsOf } from '../../hls/playlists.js';
import { renderHashSidecar } from '../../hls/hashSidecar.js';
import type { Pipeline } from '../../pipeline.js';
import type { Stream } from '../../streams/streamStore.js';
import { LiveThumbnails } from '../../thumbnails/liveThumbnails.js';

const M3U8 = 'application/vnd.apple.mpegurl';

/** Viewer-facing HLS: master playlist, media playlists, segments. CORS-open for web players. */
export function hlsRoutes(p: Pipeline): FastifyPluginAsync {
  const thumbnails = new LiveThumbnails(p);
  const cache = new Map<string, { stream: Stream | null; until: number }>();
  const streamOf = async (playbackId: string): Promise<Stream> => {
    let hit = cache.get(playbackId);
    if (!hit || hit.until < Date.now()) {
      hit = { stream: playbackId.length <= 64 ? await p.streams.getByPlaybackId(playbackId) : null, until: Date.now() + 5_000 };
      if (cache.size > 10_000) cache.clear();
      cache.set(playbackId, hit);
    }
    if (!hit.stream) throw new ApiError('STREAM_NOT_FOUND', 'unknown playback id');
    return hit.stream;
  };

  return async (app) => {
    app.addHook('onSend', async (_req, reply) => {
      reply.header('access-control-allow-origin', '*');
    });

    app.get<{ Params: { playbackId: string } }>('/hls/:playbackId/index.m3u8', async (req, reply) => {
      const stream = await streamOf(req.params.playbackId);
      const { meta, published } = await p.live.snapshot(stream.id);
      const last = published[published.length - 1]?.entry.renditions[SOURCE_RENDITION];
      if (!meta || !last) throw new ApiError('NOT_FOUND', 'stream has not started yet; retry in a few seconds');
      const ladder = capProfiles(stream.profiles, last).map((x) => ({ rendition: x.name, width: x.width, height: x.height, fps: Math.min(x.fps ?? 30, last.fps), bitrate: x.bitrate }));
      const nominal = [...ladder, { rendition: SOURCE_RENDITION, width: last.width, height: last.height, fps: last.fps, bitrate: 0 }];
      return reply.header('content-type', M3U8).header('cache-control', 'max-age=1').send(renderMasterPlaylist(variantsOf(published, nominal)));
    });

    // the latest segment's first frame (Studio's live thumbnail, in playback info as "Thumbnail (JPEG)")
    app.get<{ Params: { playbackId: string } }>('/hls/:playbackId/thumbnail.jpg', async (req, reply) => {
      const stream = await streamOf(req.params.playbackId);
      const jpeg = await thumbnails.latest(stream.id);
      if (!jpeg) throw new ApiError('NOT_FOUND', 'stream has not started yet; retry in a few seconds');
      return reply.header('content-type', 'image/jpeg').header('content-length', jpeg.length).header('cache-control', 'max-age=2').send(jpeg);
    });

    app.get<{ Params: { playbackId: string; rendition: string } }>('/hls/:playbackId/:rendition/index.m3u8', async (req, reply) => {
      const stream = await streamOf(req.params.playbackId);
      const { meta, published, inflight } = await p.live.snapshot(stream.id);
      if (!meta) throw new ApiError('NOT_FOUND', 'stream has not started yet; retry in a few seconds');
      const { rendition } = req.params;
      if (rendition !== SOURCE_RENDITION && !stream.profiles.some((x) => x.name === rendition)) {
        throw new ApiError('NOT_FOUND', `no rendition ${rendition}`);
      }
      const body = renderMediaPlaylist({ rendition, meta, published, window: p.config.hlsWindow, ended: meta.ended && inflight === 0 });
      return reply.header('content-type', M3U8).header('cache-control', meta.ended ? 'max-age=60' : 'max-age=1').send(body);
    });

    // The signed hash sidecar: what players check segments from peers against (hls/hashSidecar.ts).
    app.get<{ Params: { playbackId: string; rendition: string } }>('/hls/:playbackId/:rendition/hashes.json', async (req, reply) => {
      const stream = await streamOf(req.params.playbackId);
      const { meta, published } = await p.live.snapshot(stream.id);
      if (!meta) throw new ApiError('NOT_FOUND', 'stream has not started yet; retry in a few seconds');
      const { rendition } = req.params;
      if (rendition !== SOURCE_RENDITION && !stream.profiles.some((x) => x.name === rendition)) {
        throw new ApiError('NOT_FOUND', `no rendition ${rendition}`);
      }
      const body = await renderHashSidecar({ playbackId: stream.playbackId, rendition, published, window: p.config.hlsWindow, signer: p.segmentSigner });
      return reply.header('cache-control', meta.ended ? 'max-age=60' : 'max-age=1').send(body);
    });

    app.get<{ Params: { playbackId: string; rendition: string; file: string } }>('/hls/:playbackId/:rendition/:file', async (req, reply) => {
      const stream = await streamOf(req.params.playbackId);
      const f = parseSegmentFile(req.params.file);
      const { rendition } = req.params;
      if (!f || !/^[A-Za-z0-9_-]{1,32}$/.test(rendition)) throw new ApiError('NOT_FOUND', 'no such segment');
      const obj = await p.storage.read(storageKeys.rendition(stream.id, rendition, f.session, f.seq, f.rev));
      if (!obj) throw new ApiError('NOT_FOUND', 'segment is not (or no longer) available');
      return reply
        .header('content-type', 'video/mp2t')
        .header('content-length', obj.size)
        .header('cache-control', 'max-age=86400, immutable')
        .send(obj.stream);
    });
  };
}
