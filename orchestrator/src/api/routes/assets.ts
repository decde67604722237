import { createWriteStream } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline as pipe } from 'node:stream/promises';
import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from 'typebox';
import { ApiError, DEFAULT_PROFILES, ProfilesSchema, profileProblems } from '@segmint/protocol';
import { checkOutboundUrl, UnsafeUrlError, type OutboundPolicy } from '../../egress/outboundAddress.js';
import { outboundRequest } from '../../egress/outboundRequest.js';
import { assetPrefix, processAsset, type AssetOutcome } from '../../assets/assetProcessor.js';
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
  source: Type.Object({ type: Type.String(), url: Type.Optional(Type.String()) }),
  status: Type.Object({
    phase: Type.Union([Type.Literal('waiting'), Type.Literal('processing'), Type.Literal('ready'), Type.Literal('failed')]),
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

export type AssetEvents = { created(a: Asset): void; finished(o: AssetOutcome): void };

/** Copies a byte stream to a new temp file, refusing more than `limit` bytes (413). */
async function toTempFile(body: Readable, limit: number): Promise<{ path: string; bytes: number }> {
  const path = join(await mkdtemp(join(tmpdir(), 'segmint-upload-')), 'source');
  let bytes = 0;
  const count = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      done(bytes > limit ? new ApiError('PAYLOAD_TOO_LARGE', `files are limited to ${limit} bytes`) : null, chunk);
    },
  });
  await pipe(body, count, createWriteStream(path));
  if (bytes === 0) throw new ApiError('VALIDATION_FAILED', 'the upload is empty');
  return { path, bytes };
}

/**
 * Studio's asset API: `POST /api/asset/request-upload` (then PUT the file to the returned URL),
 * `POST /api/asset/upload/url` (import), get, list, rename, delete. Processing runs in this
 * process: an upload interrupted by a restart must be made again.
 */
export function assetRoutes(p: Pipeline, assets: AssetStore, keys: ApiKeyStore, o: { maxAssetBytes: number; outbound: OutboundPolicy; on: AssetEvents }): FastifyPluginAsync {
  const view = (a: Asset): Static<typeof AssetSchema> => ({
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
  const start = (asset: Asset, path: string, bytes: number) => {
    void assets
      .update(asset.id, { sizeBytes: bytes })
      .then(() => processAsset(p, assets, asset, path))
      .then((outcome) => o.on.finished(outcome))
      .catch((err) => p.logger.error({ err, assetId: asset.id }, 'asset processing crashed'));
  };
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
        const asset = await assets.claimUpload(req.query.token);
        if (!asset) throw new ApiError('UNAUTHORIZED', 'unknown or used upload token: request a new upload URL');
        let file;
        try {
          file = await toTempFile((req.body as Readable | undefined) ?? req.raw, o.maxAssetBytes);
        } catch (err) {
          await assets.update(asset.id, { phase: 'failed', errorMessage: 'the upload did not complete' });
          throw err;
        }
        start(asset, file.path, file.bytes);
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
            response: { 200: Type.Object({ url: Type.String(), tusEndpoint: Type.Optional(Type.String({ description: 'not offered yet: PUT the file to url' })), asset: AssetSchema, task: TaskSchema }), ...errorResponses('INVALID_PROFILES') },
          },
        },
        async (req) => {
          const { asset, uploadToken } = await assets.create(keyOf(req).ownerId, { name: req.body.name, profiles: profilesOf(req.body.profiles), source: { type: 'directUpload' } });
          o.on.created(asset);
          return { url: `${p.config.publicUrl}/api/asset/upload/direct?token=${uploadToken}`, asset: view(asset), task: { id: asset.id } };
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
          o.on.created(asset);
          void (async () => {
            await assets.update(asset.id, { phase: 'processing' });
            // every redirect is checked like the URL itself, and the connection goes to the checked address
            const res = await outboundRequest(url, { ...o.outbound, maxRedirects: 5, signal: AbortSignal.timeout(600_000) });
            if (res.status < 200 || res.status >= 300) {
              res.body.destroy();
              throw new Error(`the URL answered HTTP ${res.status}`);
            }
            const file = await toTempFile(res.body, o.maxAssetBytes);
            start(asset, file.path, file.bytes);
          })().catch(async (err) => {
            const why = err instanceof UnsafeUrlError ? `refused: ${err.message} (assets are imported from public addresses only)` : (err as Error).message;
            await assets.update(asset.id, { phase: 'failed', errorMessage: `could not download ${url}: ${why}` });
            const failed = await assets.get(asset.id);
            if (failed) o.on.finished({ asset: failed, phase: 'failed' });
          });
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
