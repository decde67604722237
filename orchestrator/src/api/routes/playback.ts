import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from 'typebox';
import { ApiError } from '@segmint/protocol';
import type { AssetStore } from '../../assets/assetStore.js';
import type { Pipeline } from '../../pipeline.js';
import { ErrorSchema } from '../schemas.js';

const SourceSchema = Type.Object({
  hrn: Type.String({ description: 'human-readable name, e.g. "HLS (TS)"' }),
  type: Type.String({ description: 'e.g. html5/application/vnd.apple.mpegurl' }),
  url: Type.String(),
});

/** Livepeer Studio's playback info. */
const PlaybackInfoSchema = Type.Object({
  type: Type.Union([Type.Literal('live'), Type.Literal('vod')]),
  meta: Type.Object({
    live: Type.Union([Type.Literal(0), Type.Literal(1)], { description: '1 while a session is live' }),
    playbackPolicy: Type.Object({ type: Type.String() }),
    source: Type.Array(SourceSchema, { description: "Studio's kinds only (its SDK refuses others): HLS (TS); live streams also Thumbnail (JPEG), the latest segment's first frame" }),
    watchUrl: Type.String({ description: 'Segmint: the watch page (hls.js) of this playback id' }),
  }),
});

const Params = Type.Object({ playbackId: Type.String({ maxLength: 64 }) });

/**
 * `GET /api/playback/:playbackId`: where to play a stream, in Studio's shape. Public (a playback id
 * is what viewers have) and CORS-open, like the HLS it points at.
 */
export function playbackRoutes(p: Pipeline, assets: AssetStore): FastifyPluginAsync {
  return async (app) => {
    app.addHook('onSend', async (_req, reply) => {
      reply.header('access-control-allow-origin', '*');
    });
    app.get<{ Params: Static<typeof Params> }>(
      '/playback/:playbackId',
      {
        schema: {
          tags: ['playback'], summary: 'Playback info: HLS URL and whether the stream is live', params: Params,
          response: { 200: PlaybackInfoSchema, 400: ErrorSchema, 404: ErrorSchema },
        },
      },
      async (req): Promise<Static<typeof PlaybackInfoSchema>> => {
        const stream = await p.streams.getByPlaybackId(req.params.playbackId);
        const asset = stream ? null : await assets.getByPlaybackId(req.params.playbackId);
        if (asset?.phase === 'ready') {
          const url = `${p.config.publicUrl}/vod/${asset.playbackId}/index.m3u8`;
          return {
            type: 'vod',
            meta: {
              live: 0,
              playbackPolicy: { type: 'public' },
              source: [{ hrn: 'HLS (TS)', type: 'html5/application/vnd.apple.mpegurl', url }],
              watchUrl: `${p.config.publicUrl}/watch/${asset.playbackId}`,
            },
          };
        }
        if (!stream) throw new ApiError('PLAYBACK_NOT_FOUND', `no stream or asset with playback id ${req.params.playbackId}`);
        const meta = await p.live.meta(stream.id);
        const base = p.config.publicUrl;
        return {
          type: 'live',
          meta: {
            live: meta && !meta.ended ? 1 : 0,
            playbackPolicy: stream.playbackPolicy,
            source: [
              { hrn: 'HLS (TS)', type: 'html5/application/vnd.apple.mpegurl', url: `${base}/hls/${stream.playbackId}/index.m3u8` },
              { hrn: 'Thumbnail (JPEG)', type: 'image/jpeg', url: `${base}/hls/${stream.playbackId}/thumbnail.jpg` },
            ],
            watchUrl: `${base}/watch/${stream.playbackId}`,
          },
        };
      },
    );
  };
}
