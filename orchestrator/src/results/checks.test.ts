import type { SegmentFacts } from '@segmint/protocol';
import { checkRendition } from './checks.js';

const profile = { name: '240p0', width: 426, height: 240, bitrate: 250_000, fps: 30 };
const source: SegmentFacts = { videoCodec: 'h264', audioCodec: 'aac', width: 640, height: 360, frames: 60, fps: 30, durationSec: 2.000339, startSec: 5.407, videoSha256: 'aa'.repeat(32), videoCodecString: 'avc1.64001e' };
const rendition = (over: Partial<SegmentFacts> = {}): SegmentFacts => ({ ...source, width: 426, height: 240, startSec: 5.4, videoSha256: 'bb'.repeat(32), ...over });
const claimed = { name: '240p0', sha256: 'bb'.repeat(32), width: 426, height: 240, frames: 60, durationSec: 2, bytes: 1000 };
const reasons = (actual: SegmentFacts | null, c = claimed) => checkRendition(profile, source, c, actual).map((f) => f.reason);

describe('checkRendition', () => {
  it('passes a rendition of a live source whose timestamps the encoder put on its 1/fps grid (one frame longer, measured)', () => {
    // Measured on a GStreamer publish under load: source 2.000 s, rendition 2.034 s, 60 frames each.
    expect(reasons(rendition({ durationSec: 2.0338983 }))).toEqual([]);
  });

  it('fails a rendition two frames off, a frame short, the wrong size or codec, or bytes that are not the claimed ones', () => {
    expect(reasons(rendition({ durationSec: 2.0670 }))).toEqual(['duration']);
    expect(reasons(rendition({ frames: 59 }))).toEqual(['frames']);
    expect(reasons(rendition({ width: 428 }))).toEqual(['resolution']);
    expect(reasons(rendition({ videoCodec: 'hevc' }))).toEqual(['codec']);
    expect(reasons(rendition(), { ...claimed, sha256: 'cc'.repeat(32) })).toEqual(['hash']);
    expect(reasons(null)).toEqual(['missing']);
  });
});
