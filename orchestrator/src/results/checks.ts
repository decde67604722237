import type { RenditionProfile, RenditionResult, SegmentFacts } from '@segmint/protocol';
import { lowersFrameRate } from '@segmint/media';

export type CheckFailure = {
  rendition: string;
  reason: 'missing' | 'codec' | 'resolution' | 'frames' | 'duration' | 'hash' | 'streams' | 'audio';
  message: string;
};

/** Samples per AAC frame; the encoder adds a priming frame, so rendition audio may differ by a few. */
const AAC_FRAME = 1024;
const AUDIO_SLACK_FRAMES = 3;

/**
 * Checks one rendition against its profile and the source, from facts read from the uploaded
 * bytes (never from the worker's word alone): H.264, the profile's size, frame count and duration
 * (checkTiming), and the claimed hash.
 */
export function checkRendition(
  profile: RenditionProfile,
  source: SegmentFacts,
  claimed: RenditionResult,
  actual: SegmentFacts | null,
): CheckFailure[] {
  const fail = (reason: CheckFailure['reason'], message: string): CheckFailure => ({ rendition: profile.name, reason, message });
  if (!actual) return [fail('missing', 'rendition was not uploaded or is not MPEG-TS with video')];
  const out: CheckFailure[] = [];
  if (actual.videoCodec !== 'h264') out.push(fail('codec', `codec ${actual.videoCodec}, want h264`));
  if (actual.width !== profile.width || actual.height !== profile.height) {
    out.push(fail('resolution', `${actual.width}x${actual.height}, want ${profile.width}x${profile.height}`));
  }
  out.push(...checkTiming(profile, source, actual));
  if (claimed.sha256 !== actual.videoSha256) out.push(fail('hash', 'uploaded bytes do not match the reported sha256'));
  return [...out, ...checkStreams(profile.name, source, claimed, actual)];
}

/**
 * Frames and duration as an honest ladder run on this source yields them, whatever its
 * timestamps (drops, jitter, repeats, out of order). At the source's rate the ladder encodes every
 * source frame once with its own timestamp (`-vsync passthrough`): the same count, exactly, and
 * the same span within 1.5 frames. Below it, the fps filter emits one frame per slot of its grid
 * from the first timestamp's slot up to the decoder's end of stream: the slots up to the source's
 * end (first timestamp + duration), one fewer when the stream ends on its last timestamp, up to
 * two more when a publisher flushed its backlog under one timestamp (the decoder then times the
 * end itself; measured: 26 for 24, 119 for 117). The span moves as much.
 */
export function checkTiming(profile: RenditionProfile, source: SegmentFacts, actual: SegmentFacts): CheckFailure[] {
  const fail = (reason: CheckFailure['reason'], message: string): CheckFailure => ({ rendition: profile.name, reason, message });
  const out: CheckFailure[] = [];
  const resampled = lowersFrameRate(profile, source.fps);
  const fps = resampled ? (profile.fps ?? 30) : source.fps;
  const end = source.startSec + source.durationSec;
  const wantFrames = resampled ? Math.max(1, Math.round(end * fps) - Math.round(source.startSec * fps)) : source.frames;
  if (actual.frames > wantFrames + (resampled ? 2 : 0) || actual.frames < wantFrames - (resampled ? 1 : 0)) {
    out.push(fail('frames', `${actual.frames} frames, want ${resampled ? `${wantFrames - 1}–${wantFrames + 2}` : wantFrames}`));
  }
  // 1.5 source frames: the facts add the mean spacing as the last frame's duration on both sides;
  // resampled, 3 output frames more: each end rounds to a slot, and the end may run 2 slots past.
  const slack = 1.5 / source.fps + (resampled ? 3 / fps : 0);
  if (Math.abs(actual.durationSec - source.durationSec) > slack + 1e-6) {
    out.push(fail('duration', `${actual.durationSec.toFixed(3)} s, source ${source.durationSec.toFixed(3)} s`));
  }
  return out;
}

/**
 * Exactly one video and at most one audio stream; audio present when the source has it, AAC with
 * the source's channels and about its duration; the claimed audio hash is the uploaded one.
 */
function checkStreams(rendition: string, source: SegmentFacts, claimed: RenditionResult, actual: SegmentFacts): CheckFailure[] {
  const fail = (reason: CheckFailure['reason'], message: string): CheckFailure => ({ rendition, reason, message });
  const n = actual.streams ?? { video: 1, audio: actual.audio ? 1 : 0, other: 0 };
  if (n.video !== 1 || n.audio > 1 || n.other > 0) {
    return [fail('streams', `${n.video} video, ${n.audio} audio, ${n.other} other streams; want 1 video and at most 1 audio`)];
  }
  const want = source.audio;
  const got = actual.audio;
  if (!want) return got || claimed.audioSha256 ? [fail('audio', 'the source has no audio, the rendition does')] : [];
  if (!got) return [fail('audio', 'audio missing: the source has an audio stream')];
  const out: CheckFailure[] = [];
  if (got.codec !== 'aac') out.push(fail('audio', `audio codec ${got.codec}, want aac`));
  if (want.channels > 0 && got.channels !== want.channels) out.push(fail('audio', `${got.channels} audio channels, source has ${want.channels}`));
  const slack = (AUDIO_SLACK_FRAMES * AAC_FRAME) / (got.sampleRate || 48_000);
  if (Math.abs(got.durationSec - want.durationSec) > slack + 1e-6) {
    out.push(fail('audio', `audio lasts ${got.durationSec.toFixed(3)} s, source ${want.durationSec.toFixed(3)} s`));
  }
  if (claimed.audioSha256 !== got.sha256) out.push(fail('hash', 'uploaded audio does not match the reported audio sha256'));
  return out;
}
