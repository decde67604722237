import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from 'typebox';
import { ApiError } from '@segmint/protocol';
import type { AssetRunner } from '../../assets/assetRunner.js';
import type { Asset, AssetStore } from '../../assets/assetStore.js';
import type { ApiKeyStore } from '../../auth/apiKeys.js';
import { planClip } from '../../clips/clipCutter.js';
import type { Pipeline } from '../../pipeline.js';
import type { Session, SessionStore } from '../../sessions/sessionStore.js';
import { BEARER, keyOf, requireApiKey } from '../auth.js';
import { PageQuery, pageOf, setNextLink } from '../pagination.js';
import { errorResponses, IdParams } from '../schemas.js';
import { AssetSchema, assetView } from './assets.js';

/** Longest clip (as Studio's limit is a few minutes: a clip is a highlight, not a recording). */
const MAX_CLIP_MS = 10 * 60_000;

const ClipBody = Type.Object(
  {
    playbackId: Type.String({ minLength: 1, maxLength: 64, description: "the stream's playback id" }),
    startTime: Type.Number({ minimum: 0, description: 'unix ms; the clip starts on the keyframe at or before it' }),
    endTime: Type.Optional(Type.Number({ minimum: 0, description: 'unix ms (default: now, i.e. up to the latest recorded segment)' })),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
    sessionId: Type.Optional(Type.String({ maxLength: 64, description: 'the session to clip (default: the latest)' })),
  },
  { additionalProperties: false },
);
const ListQuery = Type.Object({ ...PageQuery }, { additionalProperties: false });

/**
 * Studio's clips: `POST /api/clip` cuts a time range of a recorded session (live or ended) into a
 * new asset, transcoded like any asset, tracked by a task; `GET /api/stream/:id/clips`,
 * `GET /api/session/:id/clips` list them.
 */
export function clipRoutes(p: Pipeline, assets: AssetStore, sessions: SessionStore, keys: ApiKeyStore, runner: AssetRunner, o: { created(a: Asset): void }): FastifyPluginAsync {
  const sessionToClip = async (ownerId: string, streamId: string, sessionId: string | undefined): Promise<Session> => {
    const session = sessionId ? await sessions.get(ownerId, sessionId) : (await sessions.list(ownerId, { limit: 1, streamId }))[0];
    if (!session || session.streamId !== streamId) throw new ApiError('SESSION_NOT_FOUND', sessionId ? `no session ${sessionId} of this stream` : 'the stream has no session yet');
    if (!session.record) throw new ApiError('CLIP_UNAVAILABLE', 'the session is not recorded: clips are cut from recordings (create the stream with record: true)');
    return session;
  };
  return async (app) => {
    requireApiKey(app, keys);
    const tags = ['clip'];
    const security = BEARER;

    app.post<{ Body: Static<typeof ClipBody> }>(
      '/clip',
      {
        schema: {
          tags, security, summary: 'Clip a time range of a recorded session into a new asset', body: ClipBody,
          description: 'The clip is remuxed from the recorded source segments (no re-encode before transcoding): it starts on the keyframe at or before startTime and ends at endTime.',
          response: { 200: Type.Object({ asset: AssetSchema, task: Type.Object({ id: Type.String() }) }), ...errorResponses('PLAYBACK_NOT_FOUND', 'SESSION_NOT_FOUND', 'CLIP_UNAVAILABLE') },
        },
      },
      async (req) => {
        const ownerId = keyOf(req).ownerId;
        const { playbackId, startTime } = req.body;
        const endTime = req.body.endTime ?? Date.now();
        if (endTime <= startTime) throw new ApiError('VALIDATION_FAILED', 'body/endTime must be after body/startTime');
        if (endTime - startTime > MAX_CLIP_MS) throw new ApiError('VALIDATION_FAILED', `a clip is at most ${MAX_CLIP_MS / 60_000} minutes`);
        const stream = await p.streams.getByPlaybackId(playbackId);
        if (!stream || stream.ownerId !== ownerId) throw new ApiError('PLAYBACK_NOT_FOUND', `no stream with playback id ${playbackId}`);
        const session = await sessionToClip(ownerId, stream.id, req.body.sessionId);
        if (!planClip(session, startTime, endTime)) throw new ApiError('CLIP_UNAVAILABLE', 'nothing recorded covers this range (yet)');
        const { asset } = await assets.create(ownerId, {
          name: req.body.name ?? `clip of ${stream.name}`,
          profiles: stream.profiles,
          source: { type: 'clip', playbackId, streamId: stream.id, sessionId: session.id, startTime, endTime },
        });
        o.created(asset);
        if (await runner.lease(asset.id)) runner.clip(asset);
        return { asset: assetView(p, asset), task: { id: asset.id } };
      },
    );

    for (const [path, kind] of [['/stream/:id/clips', 'stream'], ['/session/:id/clips', 'session']] as const) {
      app.get<{ Params: Static<typeof IdParams>; Querystring: Static<typeof ListQuery> }>(
        path,
        {
          schema: {
            tags, security, summary: `List the clips of a ${kind}, newest first`, params: IdParams, querystring: ListQuery,
            response: { 200: Type.Array(AssetSchema), ...errorResponses(kind === 'stream' ? 'STREAM_NOT_FOUND' : 'SESSION_NOT_FOUND') },
          },
        },
        async (req, reply) => {
          const ownerId = keyOf(req).ownerId;
          const found = kind === 'stream' ? await p.streams.getOwned(ownerId, req.params.id) : await sessions.get(ownerId, req.params.id);
          if (!found) throw new ApiError(kind === 'stream' ? 'STREAM_NOT_FOUND' : 'SESSION_NOT_FOUND', `no ${kind} ${req.params.id}`);
          const { limit, after } = pageOf(req.query);
          const list = await assets.clips(ownerId, kind === 'stream' ? { streamId: found.id } : { sessionId: found.id }, { limit, after });
          setNextLink(req, reply, list, limit);
          return list.map((a) => assetView(p, a));
        },
      );
    }
  };
}
