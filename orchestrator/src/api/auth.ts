import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from '@segmint/protocol';
import type { ApiKey, ApiKeyStore } from '../auth/apiKeys.js';
import { RateLimitedError } from '../auth/rateLimiter.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A key restricted to CORS origins (a browser key) may call this route: upload and playback only. */
    browserKey?: boolean;
  }
  interface FastifyRequest {
    /** The API key of the request, set by `requireApiKey` (routes behind it may rely on it). */
    apiKey?: ApiKey;
  }
}

/** The key of an authenticated request (only call inside a plugin that used `requireApiKey`). */
export function keyOf(req: FastifyRequest): ApiKey {
  if (!req.apiKey) throw new ApiError('UNAUTHORIZED', 'send Authorization: Bearer API_KEY');
  return req.apiKey;
}

/**
 * Within the calling plugin: every request needs `Authorization: Bearer API_KEY` (401
 * UNAUTHORIZED otherwise), within the key's rate limit (429 RATE_LIMITED with Retry-After). A key
 * restricted to CORS origins (a browser key) is refused from other origins, and on every route not
 * marked `config: { browserKey: true }` (403 FORBIDDEN). Answers carry CORS headers for the
 * request's origin (auth is a bearer header, never a cookie, so CORS is no boundary here).
 */
export function requireApiKey(app: FastifyInstance, keys: ApiKeyStore): void {
  if (!app.hasRequestDecorator('apiKey')) app.decorateRequest('apiKey', undefined);
  app.addHook('onRequest', async (req, reply) => {
    const origin = req.headers.origin;
    if (origin) {
      reply.header('access-control-allow-origin', origin).header('vary', 'Origin');
      reply.header('access-control-expose-headers', 'link, x-total-count, retry-after');
    }
    const header = req.headers.authorization ?? '';
    const token = header.startsWith('Bearer ') ? header.slice(7).trim() : '';
    const key = await keys.verify(token);
    if (!key) throw new ApiError('UNAUTHORIZED', 'send Authorization: Bearer API_KEY');
    if (key.allowedCORSOrigins.length > 0) {
      if (origin !== undefined && !key.allowedCORSOrigins.includes(origin)) throw new ApiError('FORBIDDEN', `this key may not be used from origin ${origin}`);
      if (!req.routeOptions.config.browserKey) throw new ApiError('FORBIDDEN', 'a key restricted to CORS origins may only upload assets and read them');
    }
    try {
      await keys.rateLimiter?.hit(key.id);
    } catch (err) {
      if (!(err instanceof RateLimitedError)) throw err;
      reply.header('retry-after', String(err.retryAfterSec));
      throw new ApiError('RATE_LIMITED', err.message);
    }
    req.apiKey = key;
  });
}

/** OpenAPI: the routes of a plugin behind `requireApiKey`. */
export const BEARER = [{ apiKey: [] as string[] }];
