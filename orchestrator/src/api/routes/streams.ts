import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from 'typebox';
import { ApiError, DEFAULT_PROFILES, ProfilesSchema, profileProblems, type RenditionProfile } from '@segmint/protocol';
import type { Stream, StreamFilters } from '../../streams/streamStore.js';
import type { Pipeline } from '../../pipeline.js';
import type { ApiKeyStore } from '../../auth/apiKeys.js';
import { BEARER, keyOf, requireApiKey } from '../auth.js';
import { PageQuery, pageOf, setNextLink } from '../pagination.js';
import { errorResponses, IdParams, NoContent } from '../schemas.js';
import { checkOutboundUrl, UnsafeUrlError, type OutboundPolicy } from '../../egress/outboundAddress.js';
import { checkTargetUrl, TargetUrlError } from '../../multistream/targetUrl.js';
import type { TargetStore } from '../../multistream/targetStore.js';
import type { TargetStatus } from '../../multistream/multistreamPusher.js';
import { MultistreamBody, resolveTargetRefs } from './multistream.js';

/** A pull source at a private address is refused (400 URL_NOT_ALLOWED), as any outbound URL. */
async function checkPullSource(source: string, outbound: OutboundPolicy): Promise<void> {
  try {
    if (/^rtmps?:/.test(source)) await checkTargetUrl(source, outbound);
    else await checkOutboundUrl(source, outbound);
  } catch (err) {
    if (!(err instanceof TargetUrlError || err instanceof UnsafeUrlError)) throw err;
    throw new ApiError('URL_NOT_ALLOWED', `pull.source: ${err.message}; streams are pulled from public addresses only`);
  }
}

/** What the stream routes need of multistream: the targets, the URL policy, each target's push status. */
export type StreamMultistream = { targets: TargetStore; outbound: OutboundPolicy; status(streamId: string): Promise<Record<string, TargetStatus>> };

const TargetStatusSchema = Type.Object(
  {
    phase: Type.Union([Type.Literal('connecting'), Type.Literal('connected'), Type.Literal('disconnected'), Type.Literal('error'), Type.Literal('idle')]),
    updatedAt: Type.Number(),
    error: Type.Optional(Type.String()),
    failures: Type.Number({ description: 'failed attempts since the last connect' }),
  },
  { description: 'Segmint: health of the push to this target (absent before the first)' },
);
const PullSchema = Type.Object(
  {
    source: Type.String({ minLength: 8, maxLength: 2000, pattern: '^(rtmps?|https?)://\\S+$', description: 'rtmp(s):// stream or http(s):// HLS playlist to ingest from' }),
    headers: Type.Optional(Type.Record(Type.String({ pattern: '^[A-Za-z0-9-]{1,64}$' }), Type.String({ maxLength: 2000 }), { maxProperties: 10, description: 'sent with every HLS request' })),
  },
  { additionalProperties: false, description: 'Pull instead of push: start it with POST /api/stream/:id/start-pull' },
);
const StreamTargetSchema = Type.Object({ id: Type.String(), profile: Type.String(), videoOnly: Type.Boolean(), status: Type.Optional(TargetStatusSchema) });

const PlaybackPolicySchema = Type.Union([
  Type.Object({ type: Type.Union([Type.Literal('public'), Type.Literal('jwt')]) }, { additionalProperties: false }),
  Type.Object(
    {
      type: Type.Literal('token'),
      token: Type.Object(
        {
          standard: Type.Union([Type.Literal('erc20'), Type.Literal('erc721')]),
          contract: Type.String({ pattern: '^0x[0-9a-fA-F]{40}$' }),
          minBalance: Type.String({ pattern: '^[0-9]{1,78}$', description: 'smallest balance (token units, wei for ERC-20) that may play' }),
        },
        { additionalProperties: false },
      ),
    },
    { additionalProperties: false, description: 'Segmint: wallets holding ≥ minBalance, proven by Sign-In with Ethereum' },
  ),
]);

/** A stream as the API shows it (Livepeer Studio's fields). */
const IngestHealthSchema = Type.Object({
  protocol: Type.Literal('rtmp'),
  lastSeen: Type.Number({ description: 'unix ms of the last media message' }),
  bitrate: Type.Number({ description: 'audio + video bits per second over the last 5 s' }),
  fps: Type.Number(),
  keyframeInterval: Type.Union([Type.Number(), Type.Null()], { description: 'seconds between the last two keyframes' }),
  videoCodec: Type.Union([Type.String(), Type.Null()]),
  audioCodec: Type.Union([Type.String(), Type.Null()]),
  warnings: Type.Array(Type.String(), { description: 'e.g. a keyframe interval longer than the segment target' }),
});

export const StreamSchema = Type.Object({
  id: Type.String(),
  kind: Type.Literal('stream'),
  name: Type.String(),
  streamKey: Type.String(),
  playbackId: Type.String(),
  playbackPolicy: PlaybackPolicySchema,
  maxPricePerPixel: Type.Union([Type.String({ pattern: '^[0-9]{1,40}$' }), Type.Null()], { description: "Segmint: highest ask (wei per pixel, decimal string) this stream's segments may be auctioned at; null: the orchestrator's SEGMINT_MAX_PRICE_PER_PIXEL" }),
  profiles: ProfilesSchema,
  record: Type.Boolean(),
  suspended: Type.Boolean(),
  p2p: Type.Boolean({ description: "Segmint: viewers' players share this stream's segments peer to peer, each checked against the orchestrator-signed hashes (default true; off: every byte from the origin)" }),
  viewerBytes: Type.Object(
    {
      origin: Type.Number({ description: 'segment bytes players reported fetching from the origin' }),
      peer: Type.Number({ description: 'segment bytes players reported getting from peers (verified)' }),
      rejectedSegments: Type.Number({ description: 'segments from peers whose bytes did not match the signed hash (dropped)' }),
    },
    { description: 'Segmint: delivery as reported by the watch page and player module (all sessions)' },
  ),
  isActive: Type.Boolean(),
  isHealthy: Type.Union([Type.Boolean(), Type.Null()], { description: 'null while idle; false when live but no segment for 3 segment durations' }),
  issues: Type.Array(Type.String()),
  lastSeen: Type.Optional(Type.Number({ description: 'unix ms of the last segment; absent before the first (as Studio, whose SDK refuses null here)' })),
  ingest: Type.Optional(Type.Union([IngestHealthSchema, Type.Null()], { description: 'RTMP ingest health while publishing (and during the reconnect window); null otherwise' })),
  lastTerminatedAt: Type.Union([Type.Number(), Type.Null()]),
  createdAt: Type.Number(),
  sourceSegments: Type.Number(),
  transcodedSegments: Type.Number(),
  sourceSegmentsDuration: Type.Number({ description: 'seconds' }),
  transcodedSegmentsDuration: Type.Number({ description: 'seconds' }),
  sourceBytes: Type.Number(),
  transcodedBytes: Type.Number(),
  multistream: Type.Object({ targets: Type.Array(StreamTargetSchema) }),
  pull: Type.Optional(PullSchema),
});

const CreateStreamBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 500 }),
    profiles: Type.Optional(ProfilesSchema),
    record: Type.Optional(Type.Boolean()),
    playbackPolicy: Type.Optional(PlaybackPolicySchema),
    p2p: Type.Optional(Type.Boolean({ description: "Segmint: viewers' players share this stream's segments peer to peer, each checked against the orchestrator-signed hashes (default true; off: every byte from the origin)" })),
    maxPricePerPixel: Type.Optional(Type.Union([Type.String({ pattern: '^[0-9]{1,40}$' }), Type.Null()], { description: "Segmint: highest ask (wei per pixel, decimal string) this stream's segments may be auctioned at; null: the orchestrator's SEGMINT_MAX_PRICE_PER_PIXEL" })),
    multistream: Type.Optional(MultistreamBody),
    pull: Type.Optional(PullSchema),
  },
  { additionalProperties: false },
);

const UpdateStreamBody = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
    profiles: Type.Optional(ProfilesSchema),
    record: Type.Optional(Type.Boolean()),
    suspended: Type.Optional(Type.Boolean()),
    playbackPolicy: Type.Optional(PlaybackPolicySchema),
    p2p: Type.Optional(Type.Boolean({ description: "Segmint: viewers' players share this stream's segments peer to peer, each checked against the orchestrator-signed hashes (default true; off: every byte from the origin)" })),
    maxPricePerPixel: Type.Optional(Type.Union([Type.String({ pattern: '^[0-9]{1,40}$' }), Type.Null()], { description: "Segmint: highest ask (wei per pixel, decimal string) this stream's segments may be auctioned at; null: the orchestrator's SEGMINT_MAX_PRICE_PER_PIXEL" })),
    multistream: Type.Optional(MultistreamBody),
  },
  { additionalProperties: false, minProperties: 1 },
);

const ListQuery = Type.Object(
  {
    ...PageQuery,
    filters: Type.Optional(Type.String({ maxLength: 2000, description: 'JSON array of {id, value}; ids: name (substring), isActive, record, suspended, playbackId, id' })),
    streamsonly: Type.Optional(Type.Union([Type.Literal('0'), Type.Literal('1'), Type.Literal('true'), Type.Literal('false')], { description: 'Accepted for Studio compatibility (every item is a stream)' })),
    count: Type.Optional(Type.Union([Type.Literal('0'), Type.Literal('1'), Type.Literal('true'), Type.Literal('false')], { description: 'Also send X-Total-Count' })),
  },
  { additionalProperties: false },
);

const FILTER_KINDS: Record<keyof StreamFilters, 'string' | 'boolean'> = {
  name: 'string', isActive: 'boolean', record: 'boolean', suspended: 'boolean', playbackId: 'string', id: 'string',
};

/** Decodes Studio's `filters=[{"id":"isActive","value":true}]`; anything else is 400. */
export function parseStreamFilters(raw: string | undefined): StreamFilters {
  if (raw === undefined) return {};
  let list: unknown;
  try {
    list = JSON.parse(raw);
  } catch {
    throw new ApiError('VALIDATION_FAILED', 'querystring/filters must be a JSON array of {id, value}');
  }
  if (!Array.isArray(list) || list.length > 10) throw new ApiError('VALIDATION_FAILED', 'querystring/filters must be a JSON array of at most 10 {id, value}');
  const out: Record<string, string | boolean> = {};
  for (const f of list as unknown[]) {
    const { id, value } = (f ?? {}) as { id?: unknown; value?: unknown };
    const kind = typeof id === 'string' && Object.hasOwn(FILTER_KINDS, id) ? FILTER_KINDS[id as keyof StreamFilters] : undefined;
    if (!kind) throw new ApiError('VALIDATION_FAILED', `querystring/filters: unknown filter id ${JSON.stringify(id)} (known: ${Object.keys(FILTER_KINDS).join(', ')})`);
    const v = kind === 'boolean' && (value === 'true' || value === 'false') ? value === 'true' : value;
    if (typeof v !== kind || (typeof v === 'string' && v.length > 500)) throw new ApiError('VALIDATION_FAILED', `querystring/filters: ${id} takes a ${kind}`);
    out[id as string] = v as string | boolean;
  }
  return out as StreamFilters;
}

const checkProfiles = (profiles: RenditionProfile[]) => {
  const problems = profileProblems(profiles);
  if (problems.length) throw new ApiError('INVALID_PROFILES', problems.join('; '));
};

/** Livepeer Studio's `/api/stream`: create, get, list, update, delete, terminate. */
export function streamRoutes(p: Pipeline, keys: ApiKeyStore, ms: StreamMultistream): FastifyPluginAsync {
  return async (app) => {
    requireApiKey(app, keys);
    const tags = ['stream'];
    const security = BEARER;

    /** Stored record + live state (Redis) → the API's view. */
    const view = async (s: Stream): Promise<Static<typeof StreamSchema>> => {
      const meta = await p.live.meta(s.id);
      const isActive = meta ? !meta.ended : s.isActive;
      const lastSeen = meta?.lastIngestAt ?? s.lastSeen;
      // a live stream is unhealthy when no segment came for ~3 segment durations
      const stale = isActive && lastSeen !== null && Date.now() - lastSeen > 6_000;
      const { lastSeen: _stored, pull, ...rest } = s;
      const status = s.multistream.targets.length ? await ms.status(s.id) : {};
      return {
        ...rest,
        ...(pull ? { pull } : {}),
        multistream: { targets: s.multistream.targets.map((t) => ({ ...t, ...(status[t.id] ? { status: status[t.id] } : {}) })) },
        kind: 'stream',
        isActive,
        ...(lastSeen === null ? {} : { lastSeen }),
        isHealthy: isActive ? !stale : null,
        issues: stale ? ['no segment received for over 6 s'] : [],
        ingest: p.ingestHealth?.(s.id) ?? null,
        viewerBytes: await p.viewerStats.get(s.id),
      };
    };

    app.post<{ Body: Static<typeof CreateStreamBody> }>(
      '/stream',
      { schema: { tags, security, summary: 'Create a stream', body: CreateStreamBody, response: { 201: StreamSchema, ...errorResponses('MULTISTREAM_TARGET_NOT_FOUND', 'URL_NOT_ALLOWED') } } },
      async (req, reply) => {
        const profiles = req.body.profiles ?? [...DEFAULT_PROFILES];
        checkProfiles(profiles);
        const ownerId = keyOf(req).ownerId;
        const multistream = { targets: await resolveTargetRefs(ms.targets, ms.outbound, ownerId, profiles, req.body.multistream?.targets ?? []) };
        if (req.body.pull) await checkPullSource(req.body.pull.source, ms.outbound);
        const stream = await p.streams.create({ ...req.body, profiles, multistream, ownerId, createdByKey: keyOf(req).id });
        return reply.status(201).send(await view(stream));
      },
    );

    app.get<{ Params: Static<typeof IdParams> }>(
      '/stream/:id',
      { schema: { tags, security, summary: 'Get a stream', params: IdParams, response: { 200: StreamSchema, ...errorResponses('STREAM_NOT_FOUND') } } },
      async (req) => {
        const stream = await p.streams.getOwned(keyOf(req).ownerId, req.params.id);
        if (!stream) throw new ApiError('STREAM_NOT_FOUND', `no stream ${req.params.id}`);
        return view(stream);
      },
    );

    app.get<{ Querystring: Static<typeof ListQuery> }>(
      '/stream',
      {
        schema: {
          tags, security, summary: 'List streams, newest first (Link: rel="next" when there are more)',
          querystring: ListQuery, response: { 200: Type.Array(StreamSchema), ...errorResponses() },
        },
      },
      async (req, reply) => {
        const { limit, after } = pageOf(req.query);
        const filters = parseStreamFilters(req.query.filters);
        const ownerId = keyOf(req).ownerId;
        const list = await p.streams.query(ownerId, { limit, after, filters });
        setNextLink(req, reply, list, limit);
        if (req.query.count === '1' || req.query.count === 'true') reply.header('x-total-count', await p.streams.count(ownerId, filters));
        return Promise.all(list.map(view));
      },
    );

    app.patch<{ Params: Static<typeof IdParams>; Body: Static<typeof UpdateStreamBody> }>(
      '/stream/:id',
      {
        schema: {
          tags, security, summary: 'Update a stream (name, profiles, record, suspended, playbackPolicy, p2p)',
          description: 'Suspending a live stream also ends its session: its stream key is refused until unsuspended.',
          params: IdParams, body: UpdateStreamBody, response: { 204: NoContent, ...errorResponses('STREAM_NOT_FOUND', 'INVALID_PROFILES', 'MULTISTREAM_TARGET_NOT_FOUND', 'URL_NOT_ALLOWED') },
        },
      },
      async (req, reply) => {
        if (req.body.profiles) checkProfiles(req.body.profiles);
        const ownerId = keyOf(req).ownerId;
        const { multistream: wanted, ...fields } = req.body;
        let multistream;
        if (wanted) {
          const current = await p.streams.getOwned(ownerId, req.params.id);
          if (!current) throw new ApiError('STREAM_NOT_FOUND', `no stream ${req.params.id}`);
          multistream = { targets: await resolveTargetRefs(ms.targets, ms.outbound, ownerId, req.body.profiles ?? current.profiles, wanted.targets) };
        }
        const stream = await p.streams.update(ownerId, req.params.id, { ...fields, ...(multistream ? { multistream } : {}) });
        if (!stream) throw new ApiError('STREAM_NOT_FOUND', `no stream ${req.params.id}`);
        if (req.body.suspended) await p.endSession(stream.id);
        return reply.status(204).send();
      },
    );

    app.delete<{ Params: Static<typeof IdParams> }>(
      '/stream/:id',
      {
        schema: {
          tags, security, summary: 'Delete a stream', description: 'Ends a live session; the stream key and playback id stop working.',
          params: IdParams, response: { 204: NoContent, ...errorResponses('STREAM_NOT_FOUND') },
        },
      },
      async (req, reply) => {
        const ownerId = keyOf(req).ownerId;
        const stream = await p.streams.getOwned(ownerId, req.params.id);
        if (!stream || !(await p.streams.delete(ownerId, stream.id))) throw new ApiError('STREAM_NOT_FOUND', `no stream ${req.params.id}`);
        await p.endSession(stream.id);
        return reply.status(204).send();
      },
    );

    app.post<{ Params: Static<typeof IdParams> }>(
      '/stream/:id/start-pull',
      {
        schema: {
          tags, security, summary: 'Start pulling a pull stream from its source', description: 'Ingested like a publisher; the pull ends with the source, on terminate, or after 5 failed attempts in a row.',
          params: IdParams, response: { 204: NoContent, ...errorResponses('STREAM_NOT_FOUND', 'URL_NOT_ALLOWED') },
        },
      },
      async (req, reply) => {
        const stream = await p.streams.getOwned(keyOf(req).ownerId, req.params.id);
        if (!stream) throw new ApiError('STREAM_NOT_FOUND', `no stream ${req.params.id}`);
        if (!stream.pull) throw new ApiError('VALIDATION_FAILED', 'this stream has no pull source (create it with pull: {source})');
        if (stream.suspended) throw new ApiError('STREAM_SUSPENDED', 'this stream is suspended');
        await checkPullSource(stream.pull.source, ms.outbound);
        await p.startPull?.(stream); // already pulling: nothing more to do
        return reply.status(204).send();
      },
    );

    app.delete<{ Params: Static<typeof IdParams> }>(
      '/stream/:id/terminate',
      {
        schema: {
          tags, security, summary: 'End the live session now', description: 'Playlists end (EXT-X-ENDLIST); a new push starts a new session.',
          params: IdParams, response: { 204: NoContent, ...errorResponses('STREAM_NOT_FOUND') },
        },
      },
      async (req, reply) => {
        const stream = await p.streams.getOwned(keyOf(req).ownerId, req.params.id);
        if (!stream) throw new ApiError('STREAM_NOT_FOUND', `no stream ${req.params.id}`);
        await p.streams.markTerminated(stream.id, Date.now());
        await p.endSession(stream.id);
        return reply.status(204).send();
      },
    );
  };
}
