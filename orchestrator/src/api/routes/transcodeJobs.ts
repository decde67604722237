import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from 'typebox';
import { ApiError, DEFAULT_PROFILES, ProfilesSchema, profileProblems } from '@segmint/protocol';
import type { AssetRunner } from '../../assets/assetRunner.js';
import type { AssetStore, TranscodeSource } from '../../assets/assetStore.js';
import type { ApiKeyStore } from '../../auth/apiKeys.js';
import { checkOutboundUrl, type OutboundPolicy } from '../../egress/outboundAddress.js';
import { transcodeInputUrl } from '../../transcode/deliverOutputs.js';
import { BEARER, keyOf, requireApiKey } from '../auth.js';
import { errorResponses } from '../schemas.js';
import { TaskSchema, taskOf } from './tasks.js';

const Credentials = Type.Object({ accessKeyId: Type.String({ minLength: 1, maxLength: 200 }), secretAccessKey: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false });
const Endpoint = Type.String({ minLength: 8, maxLength: 2000, pattern: '^https?://\\S+$', description: 'S3-compatible endpoint (path-style requests)' });
const Bucket = Type.String({ minLength: 1, maxLength: 255, pattern: '^[A-Za-z0-9._-]+$' });
const ObjectPath = Type.String({ minLength: 1, maxLength: 1000 });
const TranscodeBody = Type.Object(
  {
    input: Type.Union([
      Type.Object({ url: Type.String({ minLength: 8, maxLength: 2000, pattern: '^https?://\\S+$' }) }, { additionalProperties: false }),
      Type.Object({ type: Type.Literal('s3'), endpoint: Endpoint, bucket: Bucket, path: ObjectPath, credentials: Credentials }, { additionalProperties: false }),
    ]),
    storage: Type.Object({ type: Type.Literal('s3'), endpoint: Endpoint, bucket: Bucket, credentials: Credentials }, { additionalProperties: false, description: 'where the outputs are written (web3.storage is not offered)' }),
    outputs: Type.Object(
      { hls: Type.Optional(Type.Object({ path: ObjectPath }, { additionalProperties: false })), mp4: Type.Optional(Type.Object({ path: ObjectPath }, { additionalProperties: false })) },
      { additionalProperties: false, minProperties: 1 },
    ),
    profiles: Type.Optional(ProfilesSchema),
    targetSegmentSizeSecs: Type.Optional(Type.Number({ minimum: 1, maximum: 20, description: 'accepted for Studio compatibility; segments are ~2 s' })),
    creatorId: Type.Optional(Type.Unknown({ description: 'accepted for Studio compatibility; not recorded' })),
    c2pa: Type.Optional(Type.Boolean({ description: 'accepted for Studio compatibility; no C2PA signing' })),
  },
  { additionalProperties: false },
);

/**
 * Studio's `POST /api/transcode`: a file at a URL or in the caller's S3 bucket is transcoded through
 * the marketplace like an asset, and its HLS and MP4 outputs are written to the caller's bucket.
 * Tracked as a `transcode-file` task. Every URL (input, endpoints) goes through the outbound guard.
 */
export function transcodeJobRoutes(assets: AssetStore, keys: ApiKeyStore, runner: AssetRunner, o: { outbound: OutboundPolicy }): FastifyPluginAsync {
  const checked = async (what: string, url: string) => {
    await checkOutboundUrl(url, o.outbound).catch((err: Error) => {
      throw new ApiError('URL_NOT_ALLOWED', `${what}: ${err.message}; only public addresses are read from and written to`);
    });
  };
  return async (app) => {
    requireApiKey(app, keys);
    app.post<{ Body: Static<typeof TranscodeBody> }>(
      '/transcode',
      {
        schema: {
          tags: ['transcode'], security: BEARER, summary: 'Transcode a file (URL or S3) to HLS and MP4 outputs in your S3 bucket', body: TranscodeBody,
          response: { 200: TaskSchema, ...errorResponses('INVALID_PROFILES', 'URL_NOT_ALLOWED') },
        },
      },
      async (req) => {
        const b = req.body;
        const profiles = b.profiles ?? [...DEFAULT_PROFILES];
        const problems = profileProblems(profiles);
        if (problems.length) throw new ApiError('INVALID_PROFILES', problems.join('; '));
        const input: TranscodeSource['input'] = 'url' in b.input ? { url: b.input.url } : { endpoint: b.input.endpoint, bucket: b.input.bucket, path: b.input.path, credentials: b.input.credentials };
        await checked('input', 'url' in input ? input.url : input.endpoint);
        await checked('storage.endpoint', b.storage.endpoint);
        const source: TranscodeSource = { type: 'transcode', input, storage: { endpoint: b.storage.endpoint, bucket: b.storage.bucket, credentials: b.storage.credentials }, outputs: b.outputs };
        const name = ('url' in input ? new URL(input.url).pathname : input.path).split('/').filter(Boolean).pop() ?? 'input';
        const { asset } = await assets.create(keyOf(req).ownerId, { name: `transcode ${name}`.slice(0, 500), profiles, source });
        if (await runner.lease(asset.id)) runner.importFrom(asset, transcodeInputUrl(source));
        return taskOf(asset);
      },
    );
  };
}
