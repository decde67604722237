import { createHash } from 'node:crypto';
import { isMpegTs, segmentFacts, type SegmentFacts } from '@segmint/media';
import { ApiError, capProfiles, type SegmentJob } from '@segmint/protocol';
import type { Stream } from '../streams/streamStore.js';
import type { Pipeline } from '../pipeline.js';
import { skip } from '../results/stages/publishResult.js';
import { jobIdOf, storageKeys } from './jobIds.js';
import { StorageUnavailableError } from '../storage/segmentStorage.js';

/** Highest segment sequence number accepted (fits a JavaScript integer and a Redis hash field). */
export const MAX_SEQ = 2 ** 40;

export type IngestSegmentReturnType = { status: 'queued' | 'duplicate'; jobId: string };

/** A segment cut under an RTMP claim that another orchestrator has taken over: not admitted (the publisher is elsewhere now). */
export class PublisherMovedError extends Error {
  readonly code = 'PUBLISHER_MOVED';
}

/**
 * The one entry for a source segment, whatever brought it (HTTP push, RTMP segmenter, VOD split):
 * check the bytes, admit the seq into the live state, store, enqueue the transcode job.
 * `rtmpOwner`: the RTMP claim the segment was cut under (admitted only while it is still ours).
 */
export async function ingestSegment(
  p: Pipeline,
  stream: Stream,
  seq: number,
  bytes: Buffer,
  via: 'http' | 'rtmp' = 'http',
  rtmpOwner = '',
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
  const admitted = await p.live.admit(stream.id, seq, sha, rtmpOwner);
  if (admitted.status === 'moved') throw new PublisherMovedError(`segment ${seq} not admitted: the stream's RTMP publisher is now received by another orchestrator`);
  const jobId = jobIdOf(stream.id, admitted.session, seq);
  // A push retried after a crash cut the first one short (admitted, never queued) goes on from there.
  if (admitted.status === 'duplicate' && (await p.dispatcher.get(jobId))) return { status: 'duplicate', jobId };
  if (admitted.status === 'conflict') throw new ApiError('SEGMENT_CONFLICT', `a different segment ${seq} was already received`);
  if (admitted.status === 'too-late') throw new ApiError('SEGMENT_TOO_LATE', `segment ${seq} comes after later segments were published`);

  const log = p.logger.child({ streamId: stream.id, seq, jobId });
  try {
    await storeSource(p, storageKeys.source(stream.id, admitted.session, seq), bytes, log);
  } catch (err) {
    // Admitted, nothing to transcode: skip the seq so it does not hold up the ones after it.
    log.error({ err }, 'could not store the source segment; skipping it (a discontinuity)');
    const detail = `the segment store refused the source: ${(err as Error).message}`;
    await skip(p, { streamId: stream.id, session: admitted.session, seq, reason: 'storage', detail }).catch(() => {});
    if (err instanceof StorageUnavailableError) throw new ApiError('STORAGE_UNAVAILABLE', `${err.message}; segment ${seq} was skipped (a discontinuity): push the next ones`, { cause: err });
    throw new ApiError('UNAVAILABLE', 'could not store the segment; retry', { cause: err });
  }
  try {
    await p.dispatcher.enqueue(segmentJob(stream, admitted.session, seq, facts, Date.now()));
  } catch (err) {
    // Stored, not queued (Redis refused): the stuck-seq sweep dispatches it once it is orphaned,
    // and a retried push goes on from here.
    log.error({ err }, 'could not queue the segment; the stuck-seq sweep will dispatch it');
    throw new ApiError('UNAVAILABLE', 'could not queue the segment (it is stored and will be transcoded); retry to be sure', { cause: err });
  }
  if (admitted.newSession) p.onSessionStart(stream, admitted.session);
  p.events.emit('ingested', stream, admitted.session, seq, bytes);
  p.metrics.segmentsIngested.inc({ source: via });
  p.metrics.ingestBytes.inc({ source: via }, bytes.length);
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

/**
 * A live segment is worth storing for about its own duration: a store that fails (after the S3
 * client's own retries) is tried again with backoff (100, 400, 1000 ms) while under ~2 s have
 * passed, then the segment is given up.
 */
async function storeSource(p: Pipeline, key: string, bytes: Buffer, log: Pipeline['logger']): Promise<void> {
  const start = Date.now();
  for (const waitMs of [100, 400, 1000]) {
    try {
      return await p.storage.put(key, bytes);
    } catch (err) {
      if (!(err instanceof StorageUnavailableError) || Date.now() - start + waitMs > 2_000) throw err;
      log.warn({ err: err.message, retryInMs: waitMs }, 'storing a source segment failed; retrying');
      await new Promise((r) => setTimeout(r, waitMs));
    }
  }
  await p.storage.put(key, bytes);
}
