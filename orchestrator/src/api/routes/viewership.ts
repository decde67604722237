import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from 'typebox';
import { ApiError } from '@segmint/protocol';
import type { ApiKeyStore } from '../../auth/apiKeys.js';
import type { UsageStore } from '../../usage/usageStore.js';
import { BREAKDOWNS, TIME_STEPS, type Breakdown, type TimeStep, type ViewStore } from '../../viewership/viewStore.js';
import { BEARER, keyOf, requireApiKey } from '../auth.js';
import { errorResponses } from '../schemas.js';

const Time = Type.String({ maxLength: 40, description: 'unix ms, or an ISO 8601 date-time' });
const Id = Type.String({ maxLength: 64 });
/** `breakdownBy[]` once is a string, more than once an array. */
const BreakdownParam = Type.Union([Type.String({ maxLength: 32 }), Type.Array(Type.String({ maxLength: 32 }), { maxItems: 8 })]);
const QueryParams = Type.Object(
  {
    playbackId: Type.Optional(Id), assetId: Type.Optional(Id), streamId: Type.Optional(Id), creatorId: Type.Optional(Type.String({ maxLength: 200 })),
    from: Type.Optional(Time), to: Type.Optional(Time), timeStep: Type.Optional(Type.String({ maxLength: 10 })),
    'breakdownBy[]': Type.Optional(BreakdownParam),
  },
  { additionalProperties: false },
);
const NowParams = Type.Object({ playbackId: Type.Optional(Id), creatorId: Type.Optional(Type.String({ maxLength: 200 })), 'breakdownBy[]': Type.Optional(BreakdownParam) }, { additionalProperties: false });

const Metric = Type.Object({
  playbackId: Type.Optional(Type.String()), viewerId: Type.Optional(Type.String()), browser: Type.Optional(Type.String()), os: Type.Optional(Type.String()), deviceType: Type.Optional(Type.String()),
  timestamp: Type.Optional(Type.Number({ description: 'start of the time bucket (unix ms), with timeStep' })),
  viewCount: Type.Integer(), playtimeMins: Type.Number(),
});
const NowMetric = Type.Object({
  playbackId: Type.Optional(Type.String()), browser: Type.Optional(Type.String()), device: Type.Optional(Type.String()),
  viewCount: Type.Integer({ description: 'views with a playback request in the last 30 s' }),
  errorRate: Type.Number({ description: 'not measured by Segmint (Studio takes it from player beacons): always 0' }),
});
const UsageMetric = Type.Object({
  UserID: Type.String(),
  TotalUsageMins: Type.Number({ description: 'minutes of source video transcoded in the range' }),
  DeliveryUsageMins: Type.Number({ description: 'minutes watched in the range (views\' playtime)' }),
  StorageUsageMins: Type.Number({ description: 'minutes stored now (ready assets and recordings)' }),
});
const UsageParams = Type.Object(
  { from: Type.Optional(Time), to: Type.Optional(Time), timeStep: Type.Optional(Type.String({ maxLength: 10 })), creatorId: Type.Optional(Type.String({ maxLength: 200 })), 'breakdownBy[]': Type.Optional(BreakdownParam) },
  { additionalProperties: false },
);

const DAY = 86_400_000;
const NOW_WINDOW_MS = 30_000;

function timeOf(name: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const t = /^[0-9]{1,15}$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(t)) throw new ApiError('VALIDATION_FAILED', `querystring/${name} is neither unix ms nor an ISO 8601 date-time`);
  return t;
}
function rangeOf(q: { from?: string; to?: string }): { from: number; to: number } {
  const to = timeOf('to', q.to, Date.now() + 1);
  const from = timeOf('from', q.from, to - 30 * DAY);
  if (from >= to) throw new ApiError('VALIDATION_FAILED', 'querystring/from must be before to');
  return { from, to };
}
function breakdownsOf(raw: string | string[] | undefined, allowed: readonly string[]): string[] {
  const list = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  const bad = list.find((b) => !allowed.includes(b));
  if (bad) throw new ApiError('VALIDATION_FAILED', `breakdownBy ${JSON.stringify(bad)} is not recorded here (supported: ${allowed.join(', ')})`);
  return [...new Set(list)];
}
function timeStepOf(raw: string | undefined): TimeStep | undefined {
  if (raw === undefined) return undefined;
  if (!Object.hasOwn(TIME_STEPS, raw)) throw new ApiError('VALIDATION_FAILED', `timeStep must be one of ${Object.keys(TIME_STEPS).join(', ')}`);
  return raw as TimeStep;
}

/**
 * Studio's viewership and usage metrics (`/api/data/views/…`, `/api/data/usage/query`), from the
 * views recorded from real playback requests (viewership/viewRecorder.ts) and the usage records.
 */
export function viewershipRoutes(views: ViewStore, usage: UsageStore, keys: ApiKeyStore): FastifyPluginAsync {
  return async (app) => {
    requireApiKey(app, keys);
    const tags = ['metrics'];
    const security = BEARER;
    const query = async (ownerId: string, q: Static<typeof QueryParams>) =>
      views.query(
        { ownerId, playbackId: q.playbackId, assetId: q.assetId, streamId: q.streamId, ...rangeOf(q) },
        { timeStep: timeStepOf(q.timeStep), breakdownBy: breakdownsOf(q['breakdownBy[]'], Object.keys(BREAKDOWNS)) as Breakdown[] },
      );

    app.get<{ Querystring: Static<typeof NowParams> }>(
      '/data/views/now',
      { schema: { tags, security, summary: 'Views playing now (a playback request in the last 30 s)', querystring: NowParams, response: { 200: Type.Array(NowMetric), ...errorResponses() } } },
      async (req) => {
        const wanted = breakdownsOf(req.query['breakdownBy[]'], ['playbackId', 'browser', 'device']);
        const by = wanted.map((b) => (b === 'device' ? 'deviceType' : b)) as Breakdown[];
        const rows = await views.now({ ownerId: keyOf(req).ownerId, playbackId: req.query.playbackId }, NOW_WINDOW_MS, by);
        return rows.map((r) => ({
          viewCount: r.viewCount, errorRate: 0,
          ...(r.playbackId !== undefined ? { playbackId: r.playbackId } : {}), ...(r.browser !== undefined ? { browser: r.browser } : {}), ...(r.deviceType !== undefined ? { device: r.deviceType } : {}),
        }));
      },
    );
    for (const [path, summary] of [
      ['/data/views/query', 'Views and playtime, by time bucket and breakdown'],
      ['/data/views/query/creator', "Views and playtime of the owner's streams and assets (Studio's creator query; creatorId is not recorded)"],
    ] as const) {
      app.get<{ Querystring: Static<typeof QueryParams> }>(
        path,
        { schema: { tags, security, summary, querystring: QueryParams, response: { 200: Type.Array(Metric), ...errorResponses() } } },
        async (req) => query(keyOf(req).ownerId, req.query),
      );
    }
    app.get<{ Params: { playbackId: string } }>(
      '/data/views/query/total/:playbackId',
      {
        schema: {
          tags, security, summary: 'Total views and playtime of a playback id (all time)', params: Type.Object({ playbackId: Id }),
          response: { 200: Type.Object({ playbackId: Type.String(), viewCount: Type.Integer(), playtimeMins: Type.Number() }), ...errorResponses() },
        },
      },
      async (req) => {
        const [total] = await views.query({ ownerId: keyOf(req).ownerId, playbackId: req.params.playbackId, from: 0, to: Number.MAX_SAFE_INTEGER });
        return { playbackId: req.params.playbackId, viewCount: total?.viewCount ?? 0, playtimeMins: total?.playtimeMins ?? 0 };
      },
    );
    app.get<{ Querystring: Static<typeof UsageParams> }>(
      '/data/usage/query',
      { schema: { tags, security, summary: 'Usage minutes in a range: transcoded, delivered (watched), stored', querystring: UsageParams, response: { 200: UsageMetric, ...errorResponses() } } },
      async (req) => {
        const ownerId = keyOf(req).ownerId;
        timeStepOf(req.query.timeStep);
        breakdownsOf(req.query['breakdownBy[]'], []);
        const { from, to } = rangeOf(req.query);
        const [u, [watched], stored] = await Promise.all([usage.query(ownerId, from, to), views.query({ ownerId, from, to }), usage.storedSeconds(ownerId)]);
        return { UserID: ownerId, TotalUsageMins: u.total.transcodedSeconds / 60, DeliveryUsageMins: watched?.playtimeMins ?? 0, StorageUsageMins: stored / 60 };
      },
    );
  };
}
