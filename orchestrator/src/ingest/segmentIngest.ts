import { createHash } from 'node:crypto';
import { isMpegTs, segmentFacts, type SegmentFacts } from '@segmint/media';
import { ApiError, capProfiles, type SegmentJob } from '@segmint/protocol';
import type { Stream } from '../streams/streamStore.js';
import type { Pipeline } from '../pipeline.js';
import { jobIdOf, storageKeys } from './jobIds.js';

/** Highest segment sequence number accepted (fits a JavaScript integer and a Redis hash field). */
export const MAX_SEQ = 2 ** 40;

export type IngestSegmentReturnType = { status: 'queued' | 'duplicate'; jobId: string };

/**
 * The one entry for a source segment, whatever brought it (HTTP push, RTMP segmenter, VOD split):
 * check the bytes, admit the seq into the live state, store, enqueue the transcode job.
 */
export async function ingestSegment(
  p: Pipeline,
  stream: Stream,
  seq: number,
  bytes: Buffer,
  via: 'http' | 'rtmp' = 'http',
): Promise<IngestSegmentReturnType> {
  if (stream.suspended) throw new ApiError('STREAM_SUSPENDED', 'this stream is suspended; unsuspend it to push segments');
  if (!Number.isSafeInteger(seq) || seq < 0 || seq > MAX_SEQ) throw new ApiError('BAD_SEQUENCE', `seq must be an integer from 0 to ${MAX_SEQ}`);
  if (!isMpegTs(bytes)) throw new ApiError('INVALID_SEGMENT', 'body is not MPEG-TS (188-byte packets starting with 0x47)');
  let facts;
  try {
    facts = segmentFacts(bytes);
  } catch (err) {
    throw new ApiError('INVALID_SEGMENT', `segment has no readable video: ${(err as Error).message}`);
  }
  if (facts.videoCodec !== 'h264' || facts.width === 0 || facts.frames === 0) {
    throw new ApiError('INVALID_SEGMENT', `video must be H.264 (got ${facts.videoCodec}, ${facts.frames} frames)`);
  }

  const sha = createHash('sha256').update(bytes).digest('hex');
  const admitted = await p.live.admit(stream.id, seq, sha);
  const jobId = jobIdOf(stream.id, admitted.session, seq);
  // A push retried after a crash cut the first one short (admitted, never queued) goes on from there.
  if (admitted.status === 'duplicate' && (await p.dispatcher.get(jobId))) return { status: 'duplicate', jobId };
  if (admitted.status === 'conflict') throw new ApiError('SEGMENT_CONFLICT', `a different segment ${seq} was already received`);
  if (admitted.status === 'too-late') throw new ApiError('SEGMENT_TOO_LATE', `segment ${seq} comes after later segments were published`);

  const log = p.logger.child({ streamId: stream.id, seq, jobId });
  try {
    await p.storage.put(storageKeys.source(stream.id, admitted.session, seq), bytes);
    await p.dispatcher.enqueue(segmentJob(stream, admitted.session, seq, facts, Date.now()));
  } catch (err) {
    // Admitted but not queued: skip the seq so it does not hold up the ones after it.
    log.error({ err }, 'could not store or enqueue segment; skipping it');
    await p.live.resolve(stream.id, seq, null, p.config.hlsWindow + p.config.hlsRetain).catch(() => {});
    throw new ApiError('UNAVAILABLE', 'could not store or queue the segment; retry', { cause: err });
  }
  if (admitted.newSession) p.onSessionStart(stream, admitted.session);
  p.events.emit('ingested', stream, admitted.session, seq, bytes);
  p.metrics.segmentsIngested.inc({ source: via });
  p.metrics.jobsQueued.inc();
  log.debug({ bytes: bytes.length, durationSec: facts.durationSec }, 'segment queued');
  return { status: 'queued', jobId };
}

/** The transcode job of a stored source segment. */
export function segmentJob(stream: Stream, session: number, seq: number, facts: SegmentFacts, ingestedAt: number): SegmentJob {
  return {
    jobId: jobIdOf(stream.id, session, seq),
    streamId: stream.id,
    seq,
    source: facts,
    profiles: capProfiles(stream.profiles, facts),
    ...(stream.maxPricePerPixel ? { maxPricePerPixel: stream.maxPricePerPixel } : {}),
    ingestedAt,
  };
}
