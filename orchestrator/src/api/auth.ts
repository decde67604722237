import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from '@segmint/protocol';
import type { ApiKey, ApiKeyStore } from '../auth/apiKeys.js';
import { RateLimitedError } from '../auth/rateLimiter.js';

declare module 'fastify' {
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
 * restricted to CORS origins is refused from other origins.
 */
export function requireApiKey(app: FastifyInstance, keys: ApiKeyStore): void {
  if (!app.hasRequestDecorator('apiKey')) app.decorateRequest('apiKey', undefined);
  app.addHook('onRequest', async (req, reply) => {
    const header = req.headers.authorization ?? '';
    const token = header.startsWith('Bearer ') ? header.slice(7).trim() : '';
    const key = await keys.verify(token);
    if (!key) throw new ApiError('UNAUTHORIZED', 'send Authorization: Bearer API_KEY');
    const origin = req.headers.origin;
    if (key.allowedCORSOrigins.length > 0 && origin !== undefined && !key.allowedCORSOrigins.includes(origin)) {
      throw new ApiError('FORBIDDEN', `this key may not be used from origin ${origin}`);
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
