import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from 'typebox';
import { ApiError } from '@segmint/protocol';
import type { SigningKey, SigningKeyStore } from '../../access/signingKeyStore.js';
import type { ApiKeyStore } from '../../auth/apiKeys.js';
import { BEARER, keyOf, requireApiKey } from '../auth.js';
import { PageQuery, pageOf, setNextLink } from '../pagination.js';
import { errorResponses, IdParams, NoContent } from '../schemas.js';

const SigningKeySchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  publicKey: Type.String({ description: 'base64 of the PEM public key (the JWT `pub` claim)' }),
  disabled: Type.Boolean(),
  createdAt: Type.Number(),
});
const CreatedSchema = Type.Intersect([SigningKeySchema, Type.Object({ privateKey: Type.String({ description: 'base64 PEM (PKCS#8, P-256): shown this once, never stored' }) })]);
const CreateBody = Type.Object({ name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })) }, { additionalProperties: false });
const UpdateBody = Type.Object(
  { name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })), disabled: Type.Optional(Type.Boolean()) },
  { additionalProperties: false, minProperties: 1 },
);
const ListQuery = Type.Object({ ...PageQuery }, { additionalProperties: false });

const view = (k: SigningKey) => ({ id: k.id, name: k.name, publicKey: k.publicKey, disabled: k.disabled, createdAt: k.createdAt });

/** `/api/access-control/signing-key` (Studio's paths): keys that sign viewers' playback JWTs. */
export function signingKeyRoutes(store: SigningKeyStore, keys: ApiKeyStore): FastifyPluginAsync {
  return async (app) => {
    requireApiKey(app, keys);
    const tags = ['access-control'];
    const security = BEARER;
    const notFound = (id: string) => new ApiError('SIGNING_KEY_NOT_FOUND', `no signing key ${id}`);

    // Livepeer's SDK POSTs no body at all (and parses only a 200): an absent body is `{}`.
    await app.register(async (create) => {
      create.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, raw, done) => {
        const text = String(raw);
        if (text.trim() === '') return done(null, {});
        try {
          done(null, JSON.parse(text));
        } catch {
          done(new ApiError('VALIDATION_FAILED', 'body must be JSON'), undefined);
        }
      });
      create.addHook('preValidation', async (req) => {
        req.body ??= {};
      });
      create.post<{ Body: Static<typeof CreateBody> }>(
        '/access-control/signing-key',
        {
          schema: {
            tags, security, summary: 'Create a signing key (ES256; the private key is shown once)', description: 'The body is optional (default name "signing key").',
            body: CreateBody, response: { 200: CreatedSchema, ...errorResponses() },
          },
        },
        async (req) => {
          const { key, privateKey } = await store.create(keyOf(req).ownerId, req.body.name ?? 'signing key');
          return { ...view(key), privateKey };
        },
      );
    });
    app.get<{ Querystring: Static<typeof ListQuery> }>(
      '/access-control/signing-key',
      { schema: { tags, security, summary: 'List signing keys', querystring: ListQuery, response: { 200: Type.Array(SigningKeySchema), ...errorResponses() } } },
      async (req, reply) => {
        const { limit, after } = pageOf(req.query);
        const list = await store.list(keyOf(req).ownerId, { limit, after });
        setNextLink(req, reply, list, limit);
        return list.map(view);
      },
    );
    app.get<{ Params: Static<typeof IdParams> }>(
      '/access-control/signing-key/:id',
      { schema: { tags, security, summary: 'Get a signing key', params: IdParams, response: { 200: SigningKeySchema, ...errorResponses('SIGNING_KEY_NOT_FOUND') } } },
      async (req) => {
        const key = await store.get(keyOf(req).ownerId, req.params.id);
        if (!key) throw notFound(req.params.id);
        return view(key);
      },
    );
    app.patch<{ Params: Static<typeof IdParams>; Body: Static<typeof UpdateBody> }>(
      '/access-control/signing-key/:id',
      {
        schema: {
          tags, security, summary: 'Rename or disable a signing key (JWTs it signed stop working within 5 s)', params: IdParams, body: UpdateBody,
          response: { 204: NoContent, ...errorResponses('SIGNING_KEY_NOT_FOUND') },
        },
      },
      async (req, reply) => {
        if (!(await store.update(keyOf(req).ownerId, req.params.id, req.body))) throw notFound(req.params.id);
        return reply.status(204).send();
      },
    );
    app.delete<{ Params: Static<typeof IdParams> }>(
      '/access-control/signing-key/:id',
      { schema: { tags, security, summary: 'Delete a signing key', params: IdParams, response: { 204: NoContent, ...errorResponses('SIGNING_KEY_NOT_FOUND') } } },
      async (req, reply) => {
        if (!(await store.delete(keyOf(req).ownerId, req.params.id))) throw notFound(req.params.id);
        return reply.status(204).send();
      },
    );
  };
}
