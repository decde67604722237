import type { SegmentJob } from '@segmint/protocol';

/** A 2 s 720p segment job for dispatch benchmarks (no-op workers never read its source). */
export const noopSegmentJob = (streamId: string, i: number): SegmentJob => ({
  jobId: `${streamId}.1.${i}`,
  streamId,
  seq: i,
  source: { videoCodec: 'h264', width: 1280, height: 720, frames: 60, fps: 30, durationSec: 2, startSec: 0, videoSha256: '0'.repeat(64), videoCodecString: 'avc1.64001f' },
  profiles: [{ name: '360p0', width: 640, height: 360, bitrate: 800_000, fps: 30 }],
  ingestedAt: Date.now(),
});
