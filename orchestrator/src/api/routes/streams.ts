import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from 'typebox';
import { ApiError, DEFAULT_PROFILES, ProfilesSchema, profileProblems } from '@segmint/protocol';
import type { Stream } from '../../streams/streamStore.js';
import type { Pipeline } from '../../pipeline.js';
import type { ApiKeyStore } from '../../auth/apiKeys.js';
import { ErrorSchema } from '../schemas.js';

const StreamSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  streamKey: Type.String(),
  playbackId: Type.String(),
  profiles: ProfilesSchema,
  record: Type.Boolean(),
  suspended: Type.Boolean(),
  isActive: Type.Boolean(),
  lastSeen: Type.Union([Type.Number(), Type.Null()]),
  createdAt: Type.Number(),
  sourceSegments: Type.Optional(Type.Number()),
});

const CreateStreamBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 500 }),
    profiles: Type.Optional(ProfilesSchema),
    record: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });
const ListQuery = Type.Object(
  {
    limit: Type.Optional(Type.String({ pattern: '^([1-9][0-9]{0,2}|1000)$', description: '1 to 1000, default 100' })),
    cursor: Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$' })),
  },
  { additionalProperties: false },
);

/** Livepeer Studio's `/api/stream` (the part the live spine needs; the full API comes later). */
export function streamRoutes(p: Pipeline, keys: ApiKeyStore): FastifyPluginAsync {
  return async (app) => {
    app.addHook('onRequest', async (req) => {
      const header = req.headers.authorization ?? '';
      const token = header.startsWith('Bearer ') ? header.slice(7).trim() : '';
      if (!(await keys.verify(token))) throw new ApiError('UNAUTHORIZED', 'send Authorization: Bearer API_KEY');
    });

    const view = async (s: Stream) => {
      const meta = await p.live.meta(s.id);
      return { ...s, isActive: meta ? !meta.ended : s.isActive, lastSeen: meta?.lastIngestAt ?? s.lastSeen };
    };

    app.post<{ Body: Static<typeof CreateStreamBody> }>(
      '/stream',
      { schema: { body: CreateStreamBody, response: { 201: StreamSchema, 400: ErrorSchema, 401: ErrorSchema } } },
      async (req, reply) => {
        const profiles = req.body.profiles ?? [...DEFAULT_PROFILES];
        const problems = profileProblems(profiles);
        if (problems.length) throw new ApiError('INVALID_PROFILES', problems.join('; '));
        const stream = await p.streams.create({ name: req.body.name, profiles, record: req.body.record });
        return reply.status(201).send(stream);
      },
    );

    app.get<{ Params: Static<typeof IdParams> }>(
      '/stream/:id',
      { schema: { params: IdParams, response: { 200: StreamSchema, 404: ErrorSchema } } },
      async (req) => {
        const stream = await p.streams.get(req.params.id);
        if (!stream) throw new ApiError('STREAM_NOT_FOUND', `no stream ${req.params.id}`);
        return view(stream);
      },
    );

    app.get<{ Querystring: Static<typeof ListQuery> }>(
      '/stream',
      { schema: { querystring: ListQuery, response: { 200: Type.Array(StreamSchema) } } },
      async (req, reply) => {
        const limit = Number(req.query.limit ?? 100);
        const list = await p.streams.list({ limit, cursor: req.query.cursor ? Number(req.query.cursor) : undefined });
        const last = list[list.length - 1];
        if (list.length === limit && last) reply.header('link', `<${req.url.split('?')[0]}?limit=${limit}&cursor=${last.createdAt}>; rel="next"`);
        return Promise.all(list.map(view));
      },
    );

    app.delete<{ Params: Static<typeof IdParams> }>(
      '/stream/:id/terminate',
      { schema: { params: IdParams } },
      async (req, reply) => {
        const stream = await p.streams.get(req.params.id);
        if (!stream) throw new ApiError('STREAM_NOT_FOUND', `no stream ${req.params.id}`);
        await p.endSession(stream.id);
        return reply.status(204).send();
      },
    );
  };
}
