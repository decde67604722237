import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from 'typebox';
import { ApiError, ProfilesSchema } from '@segmint/protocol';
import type { ApiKeyStore } from '../../auth/apiKeys.js';
import type { Pipeline } from '../../pipeline.js';
import type { Session, SessionStore } from '../../sessions/sessionStore.js';
import { BEARER, keyOf, requireApiKey } from '../auth.js';
import { PageQuery, pageOf, setNextLink } from '../pagination.js';
import { errorResponses, IdParams } from '../schemas.js';

/** A session as Studio shows it (`parentId` is the stream). */
const SessionSchema = Type.Object({
  id: Type.String(),
  kind: Type.Literal('session'),
  parentId: Type.String({ description: 'the stream' }),
  name: Type.String(),
  playbackId: Type.String({ description: "the stream's playback id (its HLS shows the live session)" }),
  record: Type.Boolean(),
  recordingStatus: Type.Union([Type.Literal('none'), Type.Literal('waiting'), Type.Literal('ready'), Type.Literal('failed')], {
    description: 'none when record is false; waiting while live; ready once ended (failed: ended with no segment)',
  }),
  recordingUrl: Type.Optional(Type.String({ description: 'HLS (VOD) of the recording once ready (absent before: Livepeer\'s SDK refuses null)' })),
  profiles: ProfilesSchema,
  isActive: Type.Boolean(),
  createdAt: Type.Number(),
  lastSeen: Type.Number(),
  endedAt: Type.Union([Type.Number(), Type.Null()]),
  sourceSegments: Type.Number(),
  transcodedSegments: Type.Number(),
  sourceSegmentsDuration: Type.Number(),
  transcodedSegmentsDuration: Type.Number(),
  sourceBytes: Type.Number(),
  transcodedBytes: Type.Number(),
});

const Bool = Type.Union([Type.Literal('0'), Type.Literal('1'), Type.Literal('true'), Type.Literal('false')]);
const ListQuery = Type.Object({ ...PageQuery, record: Type.Optional(Bool) }, { additionalProperties: false });
const ParentParams = Type.Object({ parentId: Type.String({ maxLength: 64 }) });

/** `/api/session/:id`, `/api/session`, `/api/stream/:parentId/sessions` (Studio's paths). */
export function sessionRoutes(p: Pipeline, sessions: SessionStore, keys: ApiKeyStore): FastifyPluginAsync {
  return async (app) => {
    requireApiKey(app, keys);
    const tags = ['session'];
    const security = BEARER;
    const playbackIds = new Map<string, string>();
    const view = async (s: Session): Promise<Static<typeof SessionSchema>> => {
      let playbackId = playbackIds.get(s.streamId);
      if (!playbackId) {
        playbackId = (await p.streams.get(s.streamId))?.playbackId ?? '';
        playbackIds.set(s.streamId, playbackId);
      }
      const { streamId, ownerId: _o, sessionNumber: _n, recordingSegments, ...rest } = s;
      const recordingStatus = !s.record ? 'none' : s.endedAt === null ? 'waiting' : recordingSegments.length > 0 ? 'ready' : 'failed';
      return {
        ...rest,
        kind: 'session',
        parentId: streamId,
        playbackId,
        isActive: s.endedAt === null,
        recordingStatus,
        ...(recordingStatus === 'ready' ? { recordingUrl: `${p.config.publicUrl}/recording/${s.id}/index.m3u8` } : {}),
      };
    };
    const recordOf = (v: string | undefined) => (v === undefined ? undefined : v === '1' || v === 'true');

    app.get<{ Params: Static<typeof IdParams> }>(
      '/session/:id',
      { schema: { tags, security, summary: 'Get a session', params: IdParams, response: { 200: SessionSchema, ...errorResponses('SESSION_NOT_FOUND') } } },
      async (req) => {
        const s = await sessions.get(keyOf(req).ownerId, req.params.id);
        if (!s) throw new ApiError('SESSION_NOT_FOUND', `no session ${req.params.id}`);
        return view(s);
      },
    );

    app.get<{ Querystring: Static<typeof ListQuery> }>(
      '/session',
      { schema: { tags, security, summary: 'List sessions of every stream, newest first', querystring: ListQuery, response: { 200: Type.Array(SessionSchema), ...errorResponses() } } },
      async (req, reply) => {
        const { limit, after } = pageOf(req.query);
        const list = await sessions.list(keyOf(req).ownerId, { limit, after, record: recordOf(req.query.record) });
        setNextLink(req, reply, list, limit);
        return Promise.all(list.map(view));
      },
    );

    app.get<{ Params: Static<typeof ParentParams>; Querystring: Static<typeof ListQuery> }>(
      '/stream/:parentId/sessions',
      {
        schema: {
          tags, security, summary: "List a stream's sessions, newest first", params: ParentParams, querystring: ListQuery,
          response: { 200: Type.Array(SessionSchema), ...errorResponses('STREAM_NOT_FOUND') },
        },
      },
      async (req, reply) => {
        const ownerId = keyOf(req).ownerId;
        const stream = await p.streams.getOwned(ownerId, req.params.parentId);
        if (!stream) throw new ApiError('STREAM_NOT_FOUND', `no stream ${req.params.parentId}`);
        const { limit, after } = pageOf(req.query);
        const list = await sessions.list(ownerId, { limit, after, streamId: stream.id, record: recordOf(req.query.record) });
        setNextLink(req, reply, list, limit);
        return Promise.all(list.map(view));
      },
    );
  };
}
