import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from 'typebox';
import { ApiError } from '@segmint/protocol';
import type { ApiKeyStore } from '../../auth/apiKeys.js';
import type { UsageRow, UsageStore } from '../../usage/usageStore.js';
import { BEARER, keyOf, requireApiKey } from '../auth.js';
import { errorResponses } from '../schemas.js';

const Totals = {
  segments: Type.Number(),
  usageMins: Type.Number({ description: 'minutes of source video transcoded' }),
  sourceMins: Type.Number({ description: 'minutes of source video published' }),
  pixels: Type.Number({ description: 'output pixels: width × height × fps × seconds over every rendition' }),
};

const UsageSchema = Type.Object({
  from: Type.Number(),
  to: Type.Number(),
  ...Totals,
  streams: Type.Array(Type.Object({ streamId: Type.String(), ...Totals })),
  keys: Type.Array(Type.Object({ apiKeyId: Type.String(), ...Totals })),
});

const Ms = Type.String({ pattern: '^[0-9]{1,15}$', description: 'unix ms' });
const Query = Type.Object({ from: Type.Optional(Ms), to: Type.Optional(Ms) }, { additionalProperties: false });

const DAY = 86_400_000;
const totals = (u: Omit<UsageRow, 'id'>) => ({
  segments: u.segments,
  usageMins: u.transcodedSeconds / 60,
  sourceMins: u.sourceSeconds / 60,
  pixels: u.pixels,
});

/** `GET /api/data/usage`: minutes and pixels transcoded per stream and per API key in a time range. */
export function usageRoutes(usage: UsageStore, keys: ApiKeyStore): FastifyPluginAsync {
  return async (app) => {
    requireApiKey(app, keys);
    app.get<{ Querystring: Static<typeof Query> }>(
      '/data/usage',
      {
        schema: {
          tags: ['usage'], security: BEARER, summary: 'Usage in [from, to) (hour precision; default: the last 30 days)', querystring: Query,
          response: { 200: UsageSchema, ...errorResponses() },
        },
      },
      async (req) => {
        const to = req.query.to ? Number(req.query.to) : Date.now();
        const from = req.query.from ? Number(req.query.from) : to - 30 * DAY;
        if (from >= to) throw new ApiError('VALIDATION_FAILED', 'querystring/from must be before to');
        const u = await usage.query(keyOf(req).ownerId, from, to);
        return {
          from, to, ...totals(u.total),
          streams: u.streams.map((s) => ({ streamId: s.id, ...totals(s) })),
          keys: u.keys.map((k) => ({ apiKeyId: k.id, ...totals(k) })),
        };
      },
    );
  };
}
