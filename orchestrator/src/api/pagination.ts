import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { ApiError } from '@segmint/protocol';

/** Where a page ends: lists are ordered newest first by (createdAt, id). */
export type PageAfter = { createdAt: number; id: string };

/** `limit` and `cursor` query parameters, as Livepeer Studio's lists take them. */
export const PageQuery = {
  limit: Type.Optional(Type.String({ pattern: '^([1-9][0-9]{0,2}|1000)$', description: 'Items per page, 1 to 1000 (default 100)' })),
  cursor: Type.Optional(Type.String({ maxLength: 200, pattern: '^[A-Za-z0-9_-]+$', description: 'Opaque: the `cursor` of the `Link: rel="next"` header' })),
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function encodeCursor(after: PageAfter): string {
  return Buffer.from(`${after.createdAt}:${after.id}`).toString('base64url');
}

/** The position a cursor names; a cursor we did not make is a 400 VALIDATION_FAILED. */
export function decodeCursor(cursor: string | undefined): PageAfter | undefined {
  if (cursor === undefined) return undefined;
  const m = /^(\d{1,16}):(.+)$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!m || !UUID.test(m[2]!)) throw new ApiError('VALIDATION_FAILED', 'querystring/cursor is not a cursor this API gave out');
  return { createdAt: Number(m[1]), id: m[2]! };
}

/** Reads limit and cursor. */
export function pageOf(query: { limit?: string; cursor?: string }): { limit: number; after: PageAfter | undefined } {
  return { limit: Number(query.limit ?? 100), after: decodeCursor(query.cursor) };
}

/**
 * When the page is full, sets `Link: <…?cursor=…>; rel="next"` (Studio's way) keeping the
 * request's other query parameters.
 */
export function setNextLink<T extends PageAfter>(req: FastifyRequest, reply: FastifyReply, items: T[], limit: number): void {
  const last = items[items.length - 1];
  if (items.length < limit || !last) return;
  const url = new URL(req.url, 'http://x');
  url.searchParams.set('cursor', encodeCursor(last));
  reply.header('link', `<${url.pathname}${url.search}>; rel="next"`);
}
