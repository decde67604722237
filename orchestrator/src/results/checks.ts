import type { RenditionProfile, RenditionResult, SegmentFacts } from '@segmint/protocol';

export type CheckFailure = { rendition: string; reason: 'missing' | 'codec' | 'resolution' | 'frames' | 'duration' | 'hash'; message: string };

/**
 * Checks one rendition against its profile and the source, from facts read from the uploaded
 * bytes (never from the worker's word alone): H.264, the profile's size, the source's frame count
 * (scaled when the frame rate is lowered), duration within 1.5 frames, and the claimed hash.
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
  const fps = Math.min(profile.fps ?? 30, source.fps);
  const wantFrames = Math.round((source.frames * fps) / source.fps);
  if (Math.abs(actual.frames - wantFrames) > (fps === source.fps ? 0 : 1)) {
    out.push(fail('frames', `${actual.frames} frames, want ${wantFrames}`));
  }
  // 1.5 frames: the encoder puts timestamps on its 1/fps grid, which moves the first and last frame
  // of a live source's jittery (whole-ms RTMP) timestamps by up to half a frame each.
  const frame = 1 / source.fps;
  if (Math.abs(actual.durationSec - source.durationSec) > 1.5 * frame + 1e-6) {
    out.push(fail('duration', `${actual.durationSec.toFixed(3)} s, source ${source.durationSec.toFixed(3)} s`));
  }
  if (claimed.sha256 !== actual.videoSha256) out.push(fail('hash', 'uploaded bytes do not match the reported sha256'));
  return out;
}
