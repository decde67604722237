import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from 'typebox';
import { ApiError } from '@segmint/protocol';
import type { ApiKey, ApiKeyStore } from '../../auth/apiKeys.js';
import { isUuid } from '../../streams/streamStore.js';
import { BEARER, keyOf, requireApiKey } from '../auth.js';
import { PageQuery, pageOf, setNextLink } from '../pagination.js';
import { errorResponses, IdParams, NoContent } from '../schemas.js';

const Access = Type.Object(
  {
    cors: Type.Object(
      { allowedOrigins: Type.Array(Type.String({ minLength: 1, maxLength: 200, pattern: '^https?://[^/\\s]+$' }), { maxItems: 50 }) },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

/** An API key as listed: never its secret. */
const ApiKeySchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  createdAt: Type.Number(),
  lastSeen: Type.Union([Type.Number(), Type.Null()], { description: 'unix ms of the last use (to about 10 s)' }),
  access: Access,
});

const CreatedApiKeySchema = Type.Intersect([
  ApiKeySchema,
  Type.Object({ key: Type.String({ description: 'The secret: shown this once, stored only as a hash' }) }),
]);

const CreateBody = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 200 }), access: Type.Optional(Access) },
  { additionalProperties: false },
);

const ListQuery = Type.Object({ ...PageQuery }, { additionalProperties: false });

const view = (k: ApiKey) => ({ id: k.id, name: k.name, createdAt: k.createdAt, lastSeen: k.lastUsedAt, access: { cors: { allowedOrigins: k.allowedCORSOrigins } } });

/**
 * `/api/api-token` (Studio's path): keys of the calling key's owner. A new key acts for the same
 * owner; its secret is returned once. A key restricted to CORS origins cannot manage keys.
 */
export function apiKeyRoutes(keys: ApiKeyStore): FastifyPluginAsync {
  return async (app) => {
    requireApiKey(app, keys);
    const tags = ['api-token'];
    const security = BEARER;
    app.addHook('preHandler', async (req) => {
      if (keyOf(req).allowedCORSOrigins.length > 0) throw new ApiError('FORBIDDEN', 'a key restricted to CORS origins cannot manage API keys');
    });

    app.post<{ Body: Static<typeof CreateBody> }>(
      '/api-token',
      { schema: { tags, security, summary: 'Create an API key (its secret is shown once)', body: CreateBody, response: { 201: CreatedApiKeySchema, ...errorResponses('FORBIDDEN') } } },
      async (req, reply) => {
        const { key, token } = await keys.create({
          name: req.body.name,
          ownerId: keyOf(req).ownerId,
          allowedCORSOrigins: req.body.access?.cors.allowedOrigins ?? [],
        });
        return reply.status(201).send({ ...view(key), key: token });
      },
    );

    app.get<{ Querystring: Static<typeof ListQuery> }>(
      '/api-token',
      { schema: { tags, security, summary: 'List API keys, newest first', querystring: ListQuery, response: { 200: Type.Array(ApiKeySchema), ...errorResponses('FORBIDDEN') } } },
      async (req, reply) => {
        const { limit, after } = pageOf(req.query);
        const list = await keys.list(keyOf(req).ownerId, { limit, after });
        setNextLink(req, reply, list, limit);
        return list.map(view);
      },
    );

    app.get<{ Params: Static<typeof IdParams> }>(
      '/api-token/:id',
      { schema: { tags, security, summary: 'Get an API key', params: IdParams, response: { 200: ApiKeySchema, ...errorResponses('API_KEY_NOT_FOUND', 'FORBIDDEN') } } },
      async (req) => {
        const key = isUuid(req.params.id) ? await keys.get(keyOf(req).ownerId, req.params.id) : null;
        if (!key) throw new ApiError('API_KEY_NOT_FOUND', `no API key ${req.params.id}`);
        return view(key);
      },
    );

    app.delete<{ Params: Static<typeof IdParams> }>(
      '/api-token/:id',
      { schema: { tags, security, summary: 'Revoke an API key (at once)', params: IdParams, response: { 204: NoContent, ...errorResponses('API_KEY_NOT_FOUND', 'FORBIDDEN') } } },
      async (req, reply) => {
        if (!isUuid(req.params.id) || !(await keys.revoke(keyOf(req).ownerId, req.params.id))) throw new ApiError('API_KEY_NOT_FOUND', `no API key ${req.params.id}`);
        return reply.status(204).send();
      },
    );
  };
}
