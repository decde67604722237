import type { Readable } from 'node:stream';
import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from 'typebox';
import { ApiError, DEFAULT_PROFILES, ProfilesSchema, profileProblems } from '@segmint/protocol';
import { checkOutboundUrl, type OutboundPolicy } from '../../egress/outboundAddress.js';
import { assetPrefix } from '../../assets/assetProcessor.js';
import type { AssetRunner } from '../../assets/assetRunner.js';
import { TUS_PATH } from './assetTus.js';
import type { Asset, AssetStore } from '../../assets/assetStore.js';
import type { ApiKeyStore } from '../../auth/apiKeys.js';
import type { Pipeline } from '../../pipeline.js';
import { BEARER, keyOf, requireApiKey } from '../auth.js';
import { PageQuery, pageOf, setNextLink } from '../pagination.js';
import { errorResponses, ErrorSchema, IdParams, NoContent } from '../schemas.js';

/** An asset as Studio shows it. */
export const AssetSchema = Type.Object({
  id: Type.String(),
  type: Type.Literal('video'),
  name: Type.String(),
  playbackId: Type.String(),
  playbackUrl: Type.Optional(Type.String({ description: 'HLS URL once ready' })),
  source: Type.Object({
    type: Type.String({ description: 'directUpload, url or clip' }),
    url: Type.Optional(Type.String()),
    playbackId: Type.Optional(Type.String({ description: 'clip: the stream clipped' })),
    sessionId: Type.Optional(Type.String({ description: 'clip: the session clipped' })),
  }),
  status: Type.Object({
    phase: Type.Union([Type.Literal('waiting'), Type.Literal('uploading'), Type.Literal('processing'), Type.Literal('ready'), Type.Literal('failed')]),
    progress: Type.Number({ description: '0–1 while processing' }),
    errorMessage: Type.Optional(Type.String()),
    updatedAt: Type.Number(),
  }),
  profiles: ProfilesSchema,
  size: Type.Optional(Type.Number({ description: 'bytes of the uploaded file, once received' })),
  videoSpec: Type.Optional(Type.Object({ duration: Type.Number({ description: 'seconds' }), format: Type.Literal('hls') }, { description: 'once ready' })),
  createdAt: Type.Number(),
});

const TaskSchema = Type.Object({ id: Type.String() });
const RequestUploadBody = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 500 }), profiles: Type.Optional(ProfilesSchema) },
  { additionalProperties: false },
);
const ImportBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 500 }),
    url: Type.String({ minLength: 8, maxLength: 2000, pattern: '^https?://\\S+$' }),
    profiles: Type.Optional(ProfilesSchema),
  },
  { additionalProperties: false },
);
const PatchBody = Type.Object({ name: Type.String({ minLength: 1, maxLength: 500 }) }, { additionalProperties: false });
const ListQuery = Type.Object({ ...PageQuery }, { additionalProperties: false });
const UploadQuery = Type.Object({ token: Type.String({ minLength: 1, maxLength: 100 }) }, { additionalProperties: false });


/** An asset as the API shows it. */
export const assetView = (p: Pipeline, a: Asset): Static<typeof AssetSchema> => ({
  id: a.id,
  type: 'video',
  name: a.name,
  playbackId: a.playbackId,
  ...(a.phase === 'ready' ? { playbackUrl: `${p.config.publicUrl}/vod/${a.playbackId}/index.m3u8` } : {}),
  source: a.source,
  status: { phase: a.phase, progress: a.progress, ...(a.errorMessage ? { errorMessage: a.errorMessage } : {}), updatedAt: a.updatedAt },
  profiles: a.profiles,
  ...(a.sizeBytes === null ? {} : { size: a.sizeBytes }),
  ...(a.durationSec === null ? {} : { videoSpec: { duration: a.durationSec, format: 'hls' as const } }),
  createdAt: a.createdAt,
});

/**
 * Studio's asset API: `POST /api/asset/request-upload` (then PUT the file to the returned URL),
 * `POST /api/asset/upload/url` (import), get, list, rename, delete. The files and the processing
 * are AssetRunner's (durable across restarts).
 */
export function assetRoutes(p: Pipeline, assets: AssetStore, keys: ApiKeyStore, runner: AssetRunner, o: { maxAssetBytes: number; outbound: OutboundPolicy; created(a: Asset): void }): FastifyPluginAsync {
  const view = (a: Asset) => assetView(p, a);
  const profilesOf = (profiles: Static<typeof RequestUploadBody>['profiles']) => {
    const list = profiles ?? [...DEFAULT_PROFILES];
    const problems = profileProblems(list);
    if (problems.length) throw new ApiError('INVALID_PROFILES', problems.join('; '));
    return list;
  };

  return async (app) => {
    // the direct upload: authorised by its one-time token, not an API key
    await app.register(async (upload) => {
      upload.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
      // refused before the body was read (bad token, too large): close the connection rather than
      // leave the rest of the upload hanging on it
      upload.addHook('onSend', async (req, reply) => {
        if (reply.statusCode >= 400 && !req.raw.complete) reply.header('connection', 'close');
      });
      upload.addHook('onResponse', async (req) => {
        if (!req.raw.complete) req.raw.destroy();
      });
      const route = {
        schema: {
          tags: ['asset'], summary: 'Upload the file of an asset (the URL from request-upload; once)', querystring: UploadQuery,
          response: { 200: Type.Object({}), 400: ErrorSchema, 401: ErrorSchema, 413: ErrorSchema },
        },
        bodyLimit: o.maxAssetBytes,
      };
      const handler = async (req: { query: Static<typeof UploadQuery>; body: unknown; raw: Readable }) => {
        const unknown = new ApiError('UNAUTHORIZED', 'unknown or used upload token: request a new upload URL');
        // the lease first: an asset is never `processing` without one (the sweep would take it over)
        const id = await assets.assetIdForUpload(req.query.token);
        if (!id || !(await runner.lease(id))) throw unknown;
        const asset = await assets.claimUpload(req.query.token);
        if (!asset) {
          await runner.abandon(id);
          throw unknown;
        }
        await runner.receive(asset, (req.body as Readable | undefined) ?? req.raw);
        return {};
      };
      upload.put<{ Querystring: Static<typeof UploadQuery> }>('/asset/upload/direct', route, (req) => handler(req as never));
      upload.post<{ Querystring: Static<typeof UploadQuery> }>('/asset/upload/direct', route, (req) => handler(req as never));
    });

    await app.register(async (api) => {
      requireApiKey(api, keys);
      const tags = ['asset'];
      const security = BEARER;

      api.post<{ Body: Static<typeof RequestUploadBody> }>(
        '/asset/request-upload',
        {
          config: { browserKey: true },
          schema: {
            tags, security, summary: 'Create an asset and a one-time URL to PUT its file to', body: RequestUploadBody,
            response: { 200: Type.Object({ url: Type.String({ description: 'PUT the whole file here' }), tusEndpoint: Type.String({ description: 'or upload it resumably: a tus 1.0 creation endpoint (tus-js-client `endpoint`)' }), asset: AssetSchema, task: TaskSchema }), ...errorResponses('INVALID_PROFILES') },
          },
        },
        async (req) => {
          const { asset, uploadToken } = await assets.create(keyOf(req).ownerId, { name: req.body.name, profiles: profilesOf(req.body.profiles), source: { type: 'directUpload' } });
          o.created(asset);
          // one token, two ways to use it (once): a plain PUT, or tus
          return {
            url: `${p.config.publicUrl}/api/asset/upload/direct?token=${uploadToken}`,
            tusEndpoint: `${p.config.publicUrl}${TUS_PATH}?token=${uploadToken}`,
            asset: view(asset),
            task: { id: asset.id },
          };
        },
      );

      api.post<{ Body: Static<typeof ImportBody> }>(
        '/asset/upload/url',
        {
          schema: {
            tags, security, summary: 'Import an asset from a URL', body: ImportBody,
            response: { 201: Type.Object({ asset: AssetSchema, task: TaskSchema }), ...errorResponses('INVALID_PROFILES', 'URL_NOT_ALLOWED') },
          },
        },
        async (req, reply) => {
          const url = await checkOutboundUrl(req.body.url, o.outbound).catch((err: Error) => {
            throw new ApiError('URL_NOT_ALLOWED', `body/url: ${err.message}; assets are imported from public addresses only`);
          });
          const { asset } = await assets.create(keyOf(req).ownerId, { name: req.body.name, profiles: profilesOf(req.body.profiles), source: { type: 'url', url: url.toString() } });
          o.created(asset);
          if (await runner.lease(asset.id)) runner.importFrom(asset, url);
          return reply.status(201).send({ asset: view(asset), task: { id: asset.id } });
        },
      );

      api.get<{ Params: Static<typeof IdParams> }>(
        '/asset/:id',
        { config: { browserKey: true }, schema: { tags, security, summary: 'Get an asset (status.phase, status.progress)', params: IdParams, response: { 200: AssetSchema, ...errorResponses('ASSET_NOT_FOUND') } } },
        async (req) => {
          const a = await assets.get(req.params.id, keyOf(req).ownerId);
          if (!a) throw new ApiError('ASSET_NOT_FOUND', `no asset ${req.params.id}`);
          return view(a);
        },
      );

      api.get<{ Querystring: Static<typeof ListQuery> }>(
        '/asset',
        { schema: { tags, security, summary: 'List assets, newest first', querystring: ListQuery, response: { 200: Type.Array(AssetSchema), ...errorResponses() } } },
        async (req, reply) => {
          const { limit, after } = pageOf(req.query);
          const list = await assets.list(keyOf(req).ownerId, { limit, after });
          setNextLink(req, reply, list, limit);
          return list.map(view);
        },
      );

      api.patch<{ Params: Static<typeof IdParams>; Body: Static<typeof PatchBody> }>(
        '/asset/:id',
        { schema: { tags, security, summary: 'Rename an asset', params: IdParams, body: PatchBody, response: { 200: AssetSchema, ...errorResponses('ASSET_NOT_FOUND') } } },
        async (req) => {
          const a = await assets.rename(keyOf(req).ownerId, req.params.id, req.body.name);
          if (!a) throw new ApiError('ASSET_NOT_FOUND', `no asset ${req.params.id}`);
          return view(a);
        },
      );

      api.delete<{ Params: Static<typeof IdParams> }>(
        '/asset/:id',
        { schema: { tags, security, summary: 'Delete an asset and its files', params: IdParams, response: { 204: NoContent, ...errorResponses('ASSET_NOT_FOUND') } } },
        async (req, reply) => {
          const a = await assets.delete(keyOf(req).ownerId, req.params.id);
          if (!a) throw new ApiError('ASSET_NOT_FOUND', `no asset ${req.params.id}`);
          await p.storage.deletePrefix(assetPrefix(a.id));
          return reply.status(204).send();
        },
      );
    });
  };
}
