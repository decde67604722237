import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import { FileStore } from '@tus/file-store';
import { Server as TusServer } from '@tus/server';
import type { AssetRunner } from '../../assets/assetRunner.js';
import type { AssetStore } from '../../assets/assetStore.js';
import type { Pipeline } from '../../pipeline.js';

/** Where tus uploads are received: `POST` creates one (with `?token=` from request-upload), `HEAD`/`PATCH` on its URL resume it. */
export const TUS_PATH = '/api/asset/upload/tus';

const tusError = (status_code: number, code: string, message: string) => ({ status_code, body: JSON.stringify({ error: { code, message } }) });

/**
 * Resumable asset uploads (tus 1.0, @tus/server + @tus/file-store): the `tusEndpoint` of
 * `POST /api/asset/request-upload`, for tus-js-client and Livepeer's own upload helpers. The
 * creation request spends the asset's one-time upload token (phase → uploading); the upload's own
 * URL (an unguessable id) then authorises HEAD and PATCH, so a client can resume after a dropped
 * connection or an orchestrator restart (parts are on disk under DATA_DIR/asset-tus). Once every
 * byte is in, the file becomes the asset's source and is processed like a direct upload.
 */
export function assetTusRoutes(p: Pipeline, assets: AssetStore, runner: AssetRunner, o: { dataDir: string; maxAssetBytes: number }): FastifyPluginAsync {
  const directory = join(o.dataDir, 'asset-tus');
  const tus = new TusServer({
    path: TUS_PATH,
    datastore: new FileStore({ directory }),
    maxSize: o.maxAssetBytes,
    generateUrl: (_req, { id }) => `${p.config.publicUrl}${TUS_PATH}/${id}`,
    onUploadCreate: async (req, upload) => {
      const token = new URL(req.url).searchParams.get('token') ?? '';
      const asset = await assets.claimUpload(token, 'uploading');
      if (!asset) throw tusError(401, 'UNAUTHORIZED', 'unknown or used upload token: request a new upload URL');
      return { metadata: { ...upload.metadata, assetId: asset.id } };
    },
    onUploadFinish: async (_req, upload) => {
      const assetId = upload.metadata?.assetId;
      const asset = assetId ? await assets.get(assetId) : null;
      if (!asset || asset.phase !== 'uploading') throw tusError(409, 'NOT_FOUND', 'the asset of this upload is gone or already processed');
      await runner.accept(asset, join(directory, upload.id), upload.offset);
      await rm(join(directory, `${upload.id}.json`), { force: true });
      return {};
    },
  });

  return async (app) => {
    // tus bodies are the file's bytes: handed to @tus/server unread
    app.addContentTypeParser('application/offset+octet-stream', (_req, payload, done) => done(null, payload));
    const handler = async (req: { raw: import('node:http').IncomingMessage }, reply: { hijack(): void; raw: import('node:http').ServerResponse }) => {
      reply.hijack();
      await tus.handle(req.raw, reply.raw);
    };
    for (const url of [TUS_PATH, `${TUS_PATH}/:id`]) {
      app.route({ method: ['POST', 'HEAD', 'PATCH', 'OPTIONS', 'DELETE', 'GET'], url, exposeHeadRoute: false, schema: { hide: true }, handler });
    }
  };
}
