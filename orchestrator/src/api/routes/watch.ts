import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from 'typebox';
import { ApiError } from '@segmint/protocol';
import type { AssetStore } from '../../assets/assetStore.js';
import type { Pipeline } from '../../pipeline.js';
import { watchPage } from '../../watch/watchPage.js';
import { buildPlayerBundle } from '../../player/bundle.js';

const HLS_JS = createRequire(import.meta.url).resolve('hls.js/dist/hls.min.js');
const Params = Type.Object({ playbackId: Type.String({ maxLength: 64 }) });

/** `GET /watch/:playbackId`: a page that plays the stream with hls.js (served from here too). */
export function watchRoutes(p: Pipeline, assets: AssetStore): FastifyPluginAsync {
  return async (app) => {
    let hlsJs: Buffer | undefined;
    app.get('/watch/hls.min.js', { schema: { hide: true } }, async (_req, reply) => {
      hlsJs ??= await readFile(HLS_JS);
      return reply.header('content-type', 'application/javascript; charset=utf-8').header('cache-control', 'max-age=86400').send(hlsJs);
    });
    // The player bundle (hls.js + p2p-media-loader + the segment check), built on first request.
    let player: Promise<string> | undefined;
    app.get('/player/segmint-player.js', { schema: { hide: true } }, async (_req, reply) => {
      player ??= buildPlayerBundle().catch((err: unknown) => {
        player = undefined;
        throw err;
      });
      return reply.header('content-type', 'application/javascript; charset=utf-8').header('cache-control', 'max-age=300').send(await player);
    });
    app.get<{ Params: Static<typeof Params> }>(
      '/watch/:playbackId',
      { schema: { tags: ['playback'], summary: 'Watch page (HTML, hls.js)', params: Params } },
      async (req, reply) => {
        const { playbackId } = req.params;
        let src: string | undefined;
        const stream = await p.streams.getByPlaybackId(playbackId);
        if (!stream) {
          if ((await assets.getByPlaybackId(playbackId))?.phase !== 'ready') throw new ApiError('PLAYBACK_NOT_FOUND', `no stream or ready asset with playback id ${playbackId}`);
          src = `/vod/${encodeURIComponent(playbackId)}/index.m3u8`;
        }
        // Peer-to-peer for public live streams with p2p on (gated streams: every byte from the origin).
        const p2p = stream?.p2p && stream.playbackPolicy.type === 'public' ? { segmentSigner: p.segmentSigner.address } : null;
        // Public live streams play through a staked edge when steering gives one (docs/edge.md).
        const edge = !!stream && stream.playbackPolicy.type === 'public';
        return reply.header('content-type', 'text/html; charset=utf-8').header('cache-control', 'no-cache').send(watchPage(playbackId, src, p2p, edge));
      },
    );
  };
}
