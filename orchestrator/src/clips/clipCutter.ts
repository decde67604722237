import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline as pipe } from 'node:stream/promises';
import { ffmpegPath, run } from '@segmint/media';
import { SOURCE_RENDITION } from '@segmint/protocol';
import type { AssetSegment } from '../assets/assetStore.js';
import type { Pipeline } from '../pipeline.js';
import { recordingKey } from '../sessions/sessionRecorder.js';
import type { Session } from '../sessions/sessionStore.js';

/** The recorded segments a clip is cut from, and how long the cut runs from the first one's start. */
export type ClipPlan = { segments: AssetSegment[]; startsAt: number; durationSec: number };

/**
 * Which of a session's recorded segments cover [startTime, endTime] (unix ms). A segment's time is
 * the session's start plus the durations before it. The clip starts on the keyframe that opens the
 * first covering segment (at or before startTime: a stream copy cannot start between keyframes)
 * and ends at endTime, or at the end of what is recorded. Null when nothing recorded overlaps.
 */
export function planClip(session: Pick<Session, 'createdAt' | 'recordingSegments'>, startTime: number, endTime: number): ClipPlan | null {
  const segments: AssetSegment[] = [];
  let at = session.createdAt;
  let startsAt = 0;
  let recordedEnd = 0;
  for (const s of session.recordingSegments) {
    const end = at + s.durationSec * 1000;
    if (end > startTime && at < endTime && s.renditions[SOURCE_RENDITION]) {
      if (segments.length === 0) startsAt = at;
      segments.push(s);
      recordedEnd = end;
    }
    at = end;
  }
  if (segments.length === 0) return null;
  return { segments, startsAt, durationSec: (Math.min(endTime, recordedEnd) - startsAt) / 1000 };
}

/**
 * Cuts a planned clip into one MPEG-TS file at `dest`: the recorded source segments joined in
 * order (their timestamps run on), then remuxed (no re-encode) up to the clip's duration.
 */
export async function cutClip(p: Pipeline, sessionId: string, plan: ClipPlan, dest: string, signal?: AbortSignal): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'segmint-clip-'));
  try {
    const joined = join(dir, 'joined.ts');
    const out = createWriteStream(joined);
    for (const s of plan.segments) {
      const obj = await p.storage.read(recordingKey(sessionId, SOURCE_RENDITION, s.seq));
      if (!obj) throw new Error(`recorded segment ${s.seq} is gone`);
      await pipe(obj.stream, out, { end: false });
    }
    await new Promise<void>((done, fail) => out.end((err?: Error | null) => (err ? fail(err) : done())));
    await run(ffmpegPath(), [
      '-hide_banner', '-loglevel', 'error', '-y', '-i', joined, '-map', '0:v:0', '-map', '0:a:0?', '-c', 'copy',
      '-t', plan.durationSec.toFixed(3), '-f', 'mpegts', dest,
    ], { timeoutMs: 600_000, signal });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
