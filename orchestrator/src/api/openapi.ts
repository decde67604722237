import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import { ApiError } from '@segmint/protocol';

/** Where the generated OpenAPI 3 document and its UI are served. */
export const OPENAPI_PATHS = { json: '/api/docs/json', alias: '/api/openapi.json', ui: '/api/docs', uiAlias: '/docs' } as const;

// Swagger UI's files, as @fastify/swagger-ui ships them (served here directly: its @fastify/static
// chain needs require(esm), which jest's module runtime does not support).
const UI_DIR = join(dirname(createRequire(import.meta.url).resolve('@fastify/swagger-ui')), 'static');
const UI_FILES: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'application/javascript; charset=utf-8',
  'swagger-ui-standalone-preset.js': 'application/javascript; charset=utf-8',
};

const UI_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Segmint API</title>
<link rel="stylesheet" href="${OPENAPI_PATHS.ui}/static/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="${OPENAPI_PATHS.ui}/static/swagger-ui-bundle.js"></script>
<script src="${OPENAPI_PATHS.ui}/static/swagger-ui-standalone-preset.js"></script>
<script>window.ui = SwaggerUIBundle({ url: '${OPENAPI_PATHS.json}', dom_id: '#swagger-ui', deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset], layout: 'StandaloneLayout' });</script>
</body></html>`;

/**
 * OpenAPI 3 generated from the route schemas (TypeBox): the schemas that validate each request
 * are the ones documented. Must be registered before the routes it describes.
 */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Segmint API',
        version: '1',
        description:
          'Livepeer Studio compatible API: point an app written for Studio at this base URL. Every error is ' +
          '`{"error": {"code", "message"}}`; the codes are listed in the README.',
      },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer API_KEY' } } },
      tags: [
        { name: 'stream', description: 'Live streams' },
        { name: 'session', description: 'One per live session of a stream' },
        { name: 'webhook', description: 'Signed event deliveries' },
        { name: 'api-token', description: 'API keys' },
        { name: 'playback', description: 'Playback info by playback id' },
        { name: 'usage', description: 'Minutes and pixels transcoded' },
        { name: 'dashboard', description: 'Operator dashboard' },
        { name: 'asset', description: 'Video on demand: upload or import, transcoded by the marketplace' },
        { name: 'access-control', description: 'Signing keys for playback JWTs' },
      ],
    },
  });
  const hide = { schema: { hide: true } };
  app.get(OPENAPI_PATHS.json, hide, async () => app.swagger());
  app.get(OPENAPI_PATHS.alias, hide, async () => app.swagger());
  app.get(OPENAPI_PATHS.ui, hide, async (_req, reply) => reply.header('content-type', 'text/html; charset=utf-8').send(UI_PAGE));
  app.get(OPENAPI_PATHS.uiAlias, hide, async (_req, reply) => reply.redirect(OPENAPI_PATHS.ui));
  app.get<{ Params: { file: string } }>(`${OPENAPI_PATHS.ui}/static/:file`, hide, async (req, reply) => {
    const type = Object.hasOwn(UI_FILES, req.params.file) ? UI_FILES[req.params.file] : undefined;
    if (!type) throw new ApiError('NOT_FOUND', `no file ${req.params.file}`);
    return reply.header('content-type', type).header('cache-control', 'max-age=3600').send(await readFile(join(UI_DIR, req.params.file)));
  });
}
