import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from 'typebox';
import { ApiError } from '@segmint/protocol';
import type { AssetStore } from '../../assets/assetStore.js';
import type { Pipeline } from '../../pipeline.js';
import { ErrorSchema } from '../schemas.js';
import { REPORT_MAX } from '../../p2p/viewerStats.js';

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
    p2p: Type.Optional(
      Type.Object({
        enabled: Type.Boolean({ description: "the stream's p2p field (and a public playback policy)" }),
        tracker: Type.String({ description: 'WebTorrent tracker (websocket) of this stream' }),
        segmentSigner: Type.String({ description: 'address whose EIP-712 signatures in RENDITION/hashes.json vouch for each segment' }),
      }, { description: 'Segmint: peer-to-peer delivery of a live stream' }),
    ),
  }),
});

const DeliveryReport = Type.Object(
  {
    originBytes: Type.Integer({ minimum: 0, maximum: REPORT_MAX.bytes }),
    peerBytes: Type.Integer({ minimum: 0, maximum: REPORT_MAX.bytes }),
    rejectedSegments: Type.Integer({ minimum: 0, maximum: REPORT_MAX.rejectedSegments }),
  },
  { additionalProperties: false },
);

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
            p2p: {
              enabled: stream.p2p && stream.playbackPolicy.type === 'public',
              tracker: `${base.replace(/^http/, 'ws')}/tracker/${stream.playbackId}`,
              segmentSigner: p.segmentSigner.address,
            },
          },
        };
      },
    );

    app.post<{ Params: Static<typeof Params>; Body: Static<typeof DeliveryReport> }>(
      '/playback/:playbackId/delivery',
      {
        schema: {
          tags: ['playback'], params: Params, body: DeliveryReport, response: { 400: ErrorSchema, 404: ErrorSchema },
          summary: "Segmint: a player's delivery since its last report (origin bytes, verified peer bytes, peer segments rejected)",
          description: 'Public, like playback: sent by the watch page and the player module every few seconds. Totals show in the stream\'s viewerBytes and in segmint_viewer_bytes_total; they are viewer claims and pay nobody.',
        },
      },
      async (req, reply) => {
        const stream = await p.streams.getByPlaybackId(req.params.playbackId);
        if (!stream) throw new ApiError('PLAYBACK_NOT_FOUND', `no stream with playback id ${req.params.playbackId}`);
        const { originBytes, peerBytes, rejectedSegments } = req.body;
        await p.viewerStats.add(stream.id, { origin: originBytes, peer: peerBytes, rejectedSegments });
        p.metrics.viewerBytes.inc({ source: 'origin' }, originBytes);
        p.metrics.viewerBytes.inc({ source: 'peer' }, peerBytes);
        p.metrics.peerSegmentsRejected.inc(rejectedSegments);
        return reply.status(204).send();
      },
    );
  };
}
