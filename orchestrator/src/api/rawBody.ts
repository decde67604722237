import type { FastifyInstance } from 'fastify';

/**
 * Within the calling plugin: any body arrives as a Buffer (up to `limit` bytes, else 413), so
 * routes can sniff the bytes and answer 415/422 themselves.
 */
export function rawBody(app: FastifyInstance, limit: number): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: limit }, (_req, body, done) => done(null, body));
}

/** Content types a segment may be sent with (none at all is fine too: `curl -T`). */
export function acceptedSegmentType(header: string | undefined): boolean {
  if (!header) return true;
  const type = header.split(';')[0]!.trim().toLowerCase();
  return type === 'application/octet-stream' || type.startsWith('video/');
}
