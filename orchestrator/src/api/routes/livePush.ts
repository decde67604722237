import type { FastifyPluginAsync } from 'fastify';
import { ApiError } from '@segmint/protocol';
import { ingestSegment, MAX_SEQ } from '../../ingest/segmentIngest.js';
import type { Pipeline } from '../../pipeline.js';
import type { Stream } from '../../streams/streamStore.js';
import { acceptedSegmentType, rawBody } from '../rawBody.js';

/**
 * go-livepeer's push path: `PUT /live/STREAM_KEY/SEQ.ts` with an MPEG-TS body → 200 once the
 * segment is stored and queued. Stream lookups are cached for a few seconds (one DB query per
 * stream, not per segment); suspending a stream takes effect within that time.
 */
export function livePushRoutes(p: Pipeline, opts: { maxSegmentBytes: number }): FastifyPluginAsync {
  const cache = new Map<string, { stream: Stream | null; until: number }>();
  const lookup = async (key: string) => {
    const hit = cache.get(key);
    if (hit && hit.until > Date.now()) return hit.stream;
    const stream = await p.streams.getByStreamKey(key);
    if (cache.size > 10_000) cache.clear();
    cache.set(key, { stream, until: Date.now() + 3_000 });
    return stream;
  };

  return async (app) => {
    rawBody(app, opts.maxSegmentBytes);
    app.put<{ Params: { streamKey: string; file: string } }>('/live/:streamKey/:file', async (req, reply) => {
      const { streamKey, file } = req.params;
      if (file.endsWith('.m3u8')) return reply.status(200).send(); // ffmpeg's HLS muxer also PUTs its playlist
      const m = /^(\d{1,15})\.ts$/.exec(file);
      if (!m) throw new ApiError('BAD_SEQUENCE', `segment name must be SEQ.ts with SEQ an integer from 0 to ${MAX_SEQ}`);
      if (!acceptedSegmentType(req.headers['content-type'])) {
        throw new ApiError('UNSUPPORTED_MEDIA_TYPE', 'send the segment as video/mp2t or application/octet-stream');
      }
      const stream = streamKey.length <= 128 ? await lookup(streamKey) : null;
      if (!stream) throw new ApiError('STREAM_NOT_FOUND', 'unknown stream key');
      const body = req.body;
      if (!Buffer.isBuffer(body) || body.length === 0) throw new ApiError('INVALID_SEGMENT', 'empty body');
      try {
        const out = await ingestSegment(p, stream, Number(m[1]), body, 'http');
        return reply.status(200).send({ status: out.status, seq: Number(m[1]) });
      } catch (err) {
        if (err instanceof ApiError) p.metrics.segmentsRejected.inc({ code: err.code });
        throw err;
      }
    });
  };
}
