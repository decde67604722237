import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from 'typebox';
import { ApiError } from '@segmint/protocol';
import { assetKey } from '../../assets/assetProcessor.js';
import type { AssetSegment, AssetStore } from '../../assets/assetStore.js';
import type { SessionStore } from '../../sessions/sessionStore.js';
import { recordingKey } from '../../sessions/sessionRecorder.js';
import { renderMasterPlaylist, variantsOf } from '../../hls/playlists.js';
import type { PublishedRecord } from '../../live/liveState.js';
import type { Pipeline } from '../../pipeline.js';

const M3U8 = 'application/vnd.apple.mpegurl';
const Params = Type.Object({ playbackId: Type.String({ maxLength: 64 }) });
const RenditionParams = Type.Object({ playbackId: Type.String({ maxLength: 64 }), rendition: Type.String({ pattern: '^[A-Za-z0-9_-]{1,32}$' }) });
const FileParams = Type.Object({ ...RenditionParams.properties, file: Type.String({ pattern: '^[0-9]{1,9}\\.ts$' }) });

/** A VOD media playlist (asset or recording): every segment, ENDLIST, discontinuities where seqs jump. */
export function renderVodPlaylist(segments: readonly AssetSegment[], rendition: string): string {
  const segs = segments.filter((s) => s.renditions[rendition]);
  const target = Math.max(1, ...segs.map((s) => Math.ceil(s.renditions[rendition]!.durationSec - 0.001)));
  const lines = ['#EXTM3U', '#EXT-X-VERSION:3', `#EXT-X-TARGETDURATION:${target}`, '#EXT-X-PLAYLIST-TYPE:VOD', '#EXT-X-MEDIA-SEQUENCE:0'];
  segs.forEach((s, i) => {
    if (i > 0 && s.seq !== segs[i - 1]!.seq + 1) lines.push('#EXT-X-DISCONTINUITY');
    lines.push(`#EXTINF:${s.renditions[rendition]!.durationSec.toFixed(3)},`, `${s.seq}.ts`);
  });
  lines.push('#EXT-X-ENDLIST');
  return lines.join('\n') + '\n';
}

/** A VOD master playlist: every rendition of the first segment, bandwidths measured over all. */
export function renderVodMaster(segments: readonly AssetSegment[]): string {
  const records: PublishedRecord[] = segments.map((s, index) => ({ index, discontinuity: false, entry: { seq: s.seq, session: 0, durationSec: s.durationSec, ingestedAt: 0, renditions: s.renditions } }));
  const nominal = Object.entries(segments[0]?.renditions ?? {}).map(([rendition, r]) => ({ rendition, width: r.width, height: r.height, fps: r.fps, bitrate: 0 }));
  return renderMasterPlaylist(variantsOf(records, nominal));
}

/**
 * `/vod/:playbackId/…`: HLS of ready assets; `/recording/:sessionId/…`: HLS of a recorded session
 * once it ended (public by the session's unguessable id). CORS-open, cacheable: they never change.
 */
export function vodRoutes(p: Pipeline, assets: AssetStore, sessions: SessionStore): FastifyPluginAsync {
  const readyAsset = async (playbackId: string) => {
    const a = await assets.getByPlaybackId(playbackId);
    if (!a) throw new ApiError('PLAYBACK_NOT_FOUND', `no asset with playback id ${playbackId}`);
    if (a.phase !== 'ready') throw new ApiError('NOT_FOUND', `the asset is ${a.phase}, not ready yet`);
    return a;
  };
  return async (app) => {
    app.addHook('onSend', async (_req, reply) => {
      reply.header('access-control-allow-origin', '*');
    });
    const hide = { hide: true };
    app.get<{ Params: Static<typeof Params> }>('/vod/:playbackId/index.m3u8', { schema: { ...hide, params: Params } }, async (req, reply) => {
      const a = await readyAsset(req.params.playbackId);
      return reply.header('content-type', M3U8).header('cache-control', 'max-age=300').send(renderVodMaster(a.segments));
    });
    app.get<{ Params: Static<typeof RenditionParams> }>('/vod/:playbackId/:rendition/index.m3u8', { schema: { ...hide, params: RenditionParams } }, async (req, reply) => {
      const a = await readyAsset(req.params.playbackId);
      if (!a.segments[0]?.renditions[req.params.rendition]) throw new ApiError('NOT_FOUND', `no rendition ${req.params.rendition}`);
      return reply.header('content-type', M3U8).header('cache-control', 'max-age=300').send(renderVodPlaylist(a.segments, req.params.rendition));
    });
    app.get<{ Params: Static<typeof FileParams> }>('/vod/:playbackId/:rendition/:file', { schema: { ...hide, params: FileParams } }, async (req, reply) => {
      const a = await readyAsset(req.params.playbackId);
      const obj = await p.storage.read(assetKey(a.id, req.params.rendition, parseInt(req.params.file)));
      if (!obj) throw new ApiError('NOT_FOUND', 'no such segment');
      return reply.header('content-type', 'video/mp2t').header('content-length', obj.size).header('cache-control', 'max-age=86400, immutable').send(obj.stream);
    });

    const SessionParams = Type.Object({ sessionId: Type.String({ maxLength: 64 }) });
    const recorded = async (sessionId: string) => {
      const s = await sessions.getAny(sessionId);
      if (!s || !s.record) throw new ApiError('SESSION_NOT_FOUND', `no recorded session ${sessionId}`);
      if (s.endedAt === null || s.recordingSegments.length === 0) throw new ApiError('NOT_FOUND', 'the recording is not ready yet (the session is live or has no segment)');
      return s;
    };
    app.get<{ Params: Static<typeof SessionParams> }>('/recording/:sessionId/index.m3u8', { schema: { ...hide, params: SessionParams } }, async (req, reply) => {
      const s = await recorded(req.params.sessionId);
      return reply.header('content-type', M3U8).header('cache-control', 'max-age=300').send(renderVodMaster(s.recordingSegments));
    });
    const RecRendition = Type.Object({ sessionId: Type.String({ maxLength: 64 }), rendition: RenditionParams.properties.rendition });
    app.get<{ Params: Static<typeof RecRendition> }>('/recording/:sessionId/:rendition/index.m3u8', { schema: { ...hide, params: RecRendition } }, async (req, reply) => {
      const s = await recorded(req.params.sessionId);
      if (!s.recordingSegments[0]?.renditions[req.params.rendition]) throw new ApiError('NOT_FOUND', `no rendition ${req.params.rendition}`);
      return reply.header('content-type', M3U8).header('cache-control', 'max-age=300').send(renderVodPlaylist(s.recordingSegments, req.params.rendition));
    });
    const RecFile = Type.Object({ ...RecRendition.properties, file: FileParams.properties.file });
    app.get<{ Params: Static<typeof RecFile> }>('/recording/:sessionId/:rendition/:file', { schema: { ...hide, params: RecFile } }, async (req, reply) => {
      const s = await recorded(req.params.sessionId);
      const obj = await p.storage.read(recordingKey(s.id, req.params.rendition, parseInt(req.params.file)));
      if (!obj) throw new ApiError('NOT_FOUND', 'no such segment');
      return reply.header('content-type', 'video/mp2t').header('content-length', obj.size).header('cache-control', 'max-age=86400, immutable').send(obj.stream);
    });
  };
}
