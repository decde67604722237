import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from 'typebox';
import { ApiError, SOURCE_RENDITION } from '@segmint/protocol';
import type { ApiKeyStore } from '../../auth/apiKeys.js';
import type { OutboundPolicy } from '../../egress/outboundAddress.js';
import type { MultistreamTarget, TargetStore } from '../../multistream/targetStore.js';
import { checkTargetUrl, TargetUrlError } from '../../multistream/targetUrl.js';
import type { Pipeline } from '../../pipeline.js';
import type { MultistreamRef, Stream } from '../../streams/streamStore.js';
import { BEARER, keyOf, requireApiKey } from '../auth.js';
import { PageQuery, pageOf, setNextLink } from '../pagination.js';
import { errorResponses, IdParams, NoContent } from '../schemas.js';

const TargetUrl = Type.String({ minLength: 8, maxLength: 2000, pattern: '^rtmps?://\\S+$', description: 'rtmp:// or rtmps:// ingest URL with the stream key (never shown again)' });

/** A target as Studio shows it: no URL (it holds the platform's stream key). */
export const TargetSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  userId: Type.String(),
  disabled: Type.Boolean(),
  createdAt: Type.Number(),
});
const CreateBody = Type.Object(
  { name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })), url: TargetUrl, disabled: Type.Optional(Type.Boolean()) },
  { additionalProperties: false },
);

/** A target on a stream, given by id or made on the spot from a spec (Studio's TargetAddPayload). */
export const TargetRefBody = Type.Object(
  {
    profile: Type.String({ minLength: 1, maxLength: 32, description: '`source`, or the name of one of the stream\'s profiles' }),
    videoOnly: Type.Optional(Type.Boolean({ description: 'push without audio' })),
    id: Type.Optional(Type.String({ maxLength: 64, description: 'an existing target' })),
    spec: Type.Optional(Type.Object({ name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })), url: TargetUrl }, { additionalProperties: false, description: 'or a new target' })),
  },
  { additionalProperties: false },
);
export const MultistreamBody = Type.Object({ targets: Type.Array(TargetRefBody, { maxItems: 10 }) }, { additionalProperties: false });

const ListQuery = Type.Object({ ...PageQuery }, { additionalProperties: false });
const StreamTargetParams = Type.Object({ id: Type.String({ maxLength: 64 }), targetId: Type.String({ maxLength: 64 }) });

const view = (t: MultistreamTarget): Static<typeof TargetSchema> => ({ id: t.id, name: t.name, userId: t.ownerId, disabled: t.disabled, createdAt: t.createdAt });

/** A checked target URL, or 400 URL_NOT_ALLOWED / VALIDATION_FAILED. */
async function checkedUrl(raw: string, outbound: OutboundPolicy): Promise<string> {
  try {
    return (await checkTargetUrl(raw, outbound)).toString();
  } catch (err) {
    if (!(err instanceof TargetUrlError)) throw err;
    throw new ApiError(/public addresses/.test(err.message) ? 'URL_NOT_ALLOWED' : 'VALIDATION_FAILED', `url: ${err.message}`);
  }
}

/**
 * Resolves the targets of a stream create/update/add: each names an owned target or a spec (made
 * now), and a profile the stream has. The refs to store.
 */
export async function resolveTargetRefs(
  targets: TargetStore, outbound: OutboundPolicy, ownerId: string, profiles: { name: string }[], input: Static<typeof TargetRefBody>[],
): Promise<MultistreamRef[]> {
  const refs: MultistreamRef[] = [];
  for (const t of input) {
    if (t.profile !== SOURCE_RENDITION && !profiles.some((x) => x.name === t.profile)) {
      throw new ApiError('VALIDATION_FAILED', `multistream target profile ${JSON.stringify(t.profile)} is neither "source" nor one of the stream's profiles`);
    }
    if ((t.id === undefined) === (t.spec === undefined)) throw new ApiError('VALIDATION_FAILED', 'a multistream target gives either an id or a spec');
    let id = t.id;
    if (t.spec) id = (await targets.create(ownerId, { name: t.spec.name ?? 'target', url: await checkedUrl(t.spec.url, outbound) })).id;
    else if (!(await targets.get(id!, ownerId))) throw new ApiError('MULTISTREAM_TARGET_NOT_FOUND', `no multistream target ${id}`);
    refs.push({ id: id!, profile: t.profile, videoOnly: t.videoOnly ?? false });
  }
  return refs;
}

/** Studio's `/api/multistream/target` CRUD, and adding/removing a target on a stream. */
export function multistreamRoutes(p: Pipeline, targets: TargetStore, keys: ApiKeyStore, o: { outbound: OutboundPolicy }): FastifyPluginAsync {
  return async (app) => {
    requireApiKey(app, keys);
    const tags = ['multistream'];
    const security = BEARER;
    const notFound = (id: string) => new ApiError('MULTISTREAM_TARGET_NOT_FOUND', `no multistream target ${id}`);
    const ownedStream = async (ownerId: string, id: string): Promise<Stream> => {
      const s = await p.streams.getOwned(ownerId, id);
      if (!s) throw new ApiError('STREAM_NOT_FOUND', `no stream ${id}`);
      return s;
    };

    app.post<{ Body: Static<typeof CreateBody> }>(
      '/multistream/target',
      { schema: { tags, security, summary: 'Create a multistream target (an RTMP URL to restream to)', body: CreateBody, response: { 201: TargetSchema, ...errorResponses('URL_NOT_ALLOWED') } } },
      async (req, reply) => {
        const t = await targets.create(keyOf(req).ownerId, { name: req.body.name ?? 'target', url: await checkedUrl(req.body.url, o.outbound), disabled: req.body.disabled ?? false });
        return reply.status(201).send(view(t));
      },
    );
    app.get<{ Querystring: Static<typeof ListQuery> }>(
      '/multistream/target',
      { schema: { tags, security, summary: 'List multistream targets, newest first', querystring: ListQuery, response: { 200: Type.Array(TargetSchema), ...errorResponses() } } },
      async (req, reply) => {
        const { limit, after } = pageOf(req.query);
        const list = await targets.list(keyOf(req).ownerId, { limit, after });
        setNextLink(req, reply, list, limit);
        return list.map(view);
      },
    );
    app.get<{ Params: Static<typeof IdParams> }>(
      '/multistream/target/:id',
      { schema: { tags, security, summary: 'Get a multistream target', params: IdParams, response: { 200: TargetSchema, ...errorResponses('MULTISTREAM_TARGET_NOT_FOUND') } } },
      async (req) => {
        const t = await targets.get(req.params.id, keyOf(req).ownerId);
        if (!t) throw notFound(req.params.id);
        return view(t);
      },
    );
    app.patch<{ Params: Static<typeof IdParams>; Body: Static<typeof CreateBody> }>(
      '/multistream/target/:id',
      {
        schema: {
          tags, security, summary: 'Change a multistream target (url required; a disabled target is not pushed to)', params: IdParams, body: CreateBody,
          response: { 204: NoContent, ...errorResponses('MULTISTREAM_TARGET_NOT_FOUND', 'URL_NOT_ALLOWED') },
        },
      },
      async (req, reply) => {
        const url = await checkedUrl(req.body.url, o.outbound);
        if (!(await targets.update(keyOf(req).ownerId, req.params.id, { ...req.body, url }))) throw notFound(req.params.id);
        return reply.status(204).send();
      },
    );
    app.delete<{ Params: Static<typeof IdParams> }>(
      '/multistream/target/:id',
      { schema: { tags, security, summary: 'Delete a multistream target (streams stop pushing to it)', params: IdParams, response: { 204: NoContent, ...errorResponses('MULTISTREAM_TARGET_NOT_FOUND') } } },
      async (req, reply) => {
        if (!(await targets.delete(keyOf(req).ownerId, req.params.id))) throw notFound(req.params.id);
        return reply.status(204).send();
      },
    );

    app.post<{ Params: Static<typeof IdParams>; Body: Static<typeof TargetRefBody> }>(
      '/stream/:id/create-multistream-target',
      {
        schema: {
          tags, security, summary: 'Add a multistream target to a stream (an existing one by id, or a new one from spec)', params: IdParams, body: TargetRefBody,
          response: { 204: NoContent, ...errorResponses('STREAM_NOT_FOUND', 'MULTISTREAM_TARGET_NOT_FOUND', 'URL_NOT_ALLOWED') },
        },
      },
      async (req, reply) => {
        const ownerId = keyOf(req).ownerId;
        const stream = await ownedStream(ownerId, req.params.id);
        const [ref] = await resolveTargetRefs(targets, o.outbound, ownerId, stream.profiles, [req.body]);
        const others = stream.multistream.targets.filter((t) => t.id !== ref!.id);
        if (others.length >= 10) throw new ApiError('VALIDATION_FAILED', 'a stream has at most 10 multistream targets');
        await p.streams.update(ownerId, stream.id, { multistream: { targets: [...others, ref!] } });
        return reply.status(204).send();
      },
    );
    app.delete<{ Params: Static<typeof StreamTargetParams> }>(
      '/stream/:id/multistream/:targetId',
      {
        schema: {
          tags, security, summary: 'Remove a multistream target from a stream (the target itself stays)', params: StreamTargetParams,
          response: { 204: NoContent, ...errorResponses('STREAM_NOT_FOUND', 'MULTISTREAM_TARGET_NOT_FOUND') },
        },
      },
      async (req, reply) => {
        const ownerId = keyOf(req).ownerId;
        const stream = await ownedStream(ownerId, req.params.id);
        const kept = stream.multistream.targets.filter((t) => t.id !== req.params.targetId);
        if (kept.length === stream.multistream.targets.length) throw notFound(req.params.targetId);
        await p.streams.update(ownerId, stream.id, { multistream: { targets: kept } });
        return reply.status(204).send();
      },
    );
  };
}
