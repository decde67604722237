import type { FastifyError, FastifyInstance } from 'fastify';
import { API_ERRORS, ApiError, type ApiErrorCode } from '@segmint/protocol';

/** fastify's own error codes → ours. */
const FASTIFY_CODES: Record<string, ApiErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'VALIDATION_FAILED',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'VALIDATION_FAILED',
  FST_ERR_CTP_INVALID_JSON_BODY: 'VALIDATION_FAILED',
  FST_ERR_VALIDATION: 'VALIDATION_FAILED',
  FST_ERR_NOT_FOUND: 'NOT_FOUND',
};

const body = (code: ApiErrorCode, message: string) => ({ error: { code, message } });

/** ioredis and pg errors that mean "down or restarting", not a bug: the client should retry. */
function storeUnreachable(err: Error): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return err.name === 'MaxRetriesPerRequestError'
    || /^(Connection is closed|Stream isn't writeable)/.test(err.message)
    || code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === '57P01' /* pg: admin shutdown */;
}

/**
 * Every error leaves as `{"error": {"code", "message"}}` with the code's status. Anything we did
 * not anticipate is logged and answered 500 INTERNAL (a bug to fix, never bad input's fault).
 */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | ApiError, req, reply) => {
    if (err instanceof ApiError) {
      if (err.code === 'UNAVAILABLE' || err.code === 'STORAGE_UNAVAILABLE') req.log.error({ err: err.cause ?? err, url: req.url.split('?')[0] }, err.message);
      // a dependency is down: clients (players, encoders, workers) retry after a moment
      if (err.status === 503) reply.header('retry-after', '1');
      return reply.status(err.status).send(body(err.code, err.message));
    }
    const fe = err as FastifyError;
    if (fe.validation) return reply.status(400).send(body('VALIDATION_FAILED', fe.message));
    const mapped = fe.code ? FASTIFY_CODES[fe.code] : undefined;
    if (mapped) return reply.status(API_ERRORS[mapped].status).send(body(mapped, fe.message));
    if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) {
      return reply.status(400).send(body('VALIDATION_FAILED', fe.message));
    }
    if (storeUnreachable(err)) {
      req.log.warn({ err: err.message }, 'a store is unreachable; answered 503');
      return reply.status(503).header('retry-after', '1').send(body('UNAVAILABLE', 'a backing store (Redis, PostgreSQL) is unreachable right now; retry shortly'));
    }
    req.log.error({ err }, 'unhandled error');
    return reply.status(500).send(body('INTERNAL', 'internal error'));
  });
  app.setNotFoundHandler((req, reply) => reply.status(404).send(body('NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`)));
}
