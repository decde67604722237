import type { SegmentFacts } from '@segmint/protocol';
import { checkRendition, checkTiming } from './checks.js';

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

describe('checkRendition: audio and streams', () => {
  const audio = { codec: 'aac', channels: 2, sampleRate: 48_000, frames: 94, durationSec: 2.0053, sha256: 'dd'.repeat(32) };
  const withAudio: SegmentFacts = { ...source, audio, streams: { video: 1, audio: 1, other: 0 } };
  const out = (over: Partial<SegmentFacts> = {}): SegmentFacts => ({ ...withAudio, width: 426, height: 240, videoSha256: 'bb'.repeat(32), audio: { ...audio, frames: 95, durationSec: 2.0267, sha256: 'ee'.repeat(32) }, ...over });
  const c = { ...claimed, audioSha256: 'ee'.repeat(32) };
  const check = (actual: SegmentFacts, cl: typeof c | typeof claimed = c) => checkRendition(profile, withAudio, cl, actual).map((f) => f.reason);

  it('passes the encoder\'s audio (one priming frame longer than the source, as measured)', () => {
    expect(check(out())).toEqual([]);
  });

  it('fails stripped audio, audio the source does not have, the wrong channel count, a cut duration or another codec', () => {
    expect(check(out({ audio: undefined, streams: { video: 1, audio: 0, other: 0 } }), claimed)).toEqual(['audio']);
    expect(checkRendition(profile, source, c, out()).map((f) => f.reason)).toEqual(['audio']);
    expect(check(out({ audio: { ...audio, channels: 1, frames: 95, durationSec: 2.0267, sha256: 'ee'.repeat(32) } }))).toEqual(['audio']);
    expect(check(out({ audio: { ...audio, frames: 80, durationSec: 1.7067, sha256: 'ee'.repeat(32) } }))).toEqual(['audio']);
    expect(check(out({ audio: { ...audio, codec: 'mp3', durationSec: 2.0267, sha256: 'ee'.repeat(32) } }))).toEqual(['audio']);
  });

  it('fails audio bytes other than the claimed ones (replaced audio) and any extra stream', () => {
    expect(check(out(), { ...c, audioSha256: 'ff'.repeat(32) })).toEqual(['hash']);
    expect(check(out({ streams: { video: 1, audio: 2, other: 0 } }))).toEqual(['streams']);
    expect(check(out({ streams: { video: 2, audio: 1, other: 0 } }))).toEqual(['streams']);
    expect(check(out({ streams: { video: 1, audio: 1, other: 1 } }))).toEqual(['streams']);
  });
});

describe('checkTiming: what an honest ladder yields from a live encoder\'s timestamps', () => {
  // Measured (ladder-v3 on a source cut by ffmpeg's segmenter): a 60 fps source with 10 %
  // of its frames dropped and ±10 ms jitter reads as 54.923 fps over 2.185 s from 2.0 s.
  const live: SegmentFacts = { ...source, frames: 120, fps: 54.923, durationSec: 2.185, startSec: 2.0 };
  const check = (p: typeof profile, actual: Partial<SegmentFacts>) => checkTiming(p, live, { ...live, ...actual }).map((f) => f.reason);

  it('at the source rate wants every source frame, exactly: one dropped or added is refused', () => {
    const same = { ...profile, fps: 60 };
    expect(check(same, {})).toEqual([]);
    expect(check(same, { frames: 119 })).toEqual(['frames']);
    expect(check(same, { frames: 121 })).toEqual(['frames']);
  });

  it('below the source rate wants the fps filter\'s slots from the first timestamp to the source\'s end, one fewer to two more', () => {
    // slots round(4.185 × 15) − round(2.0 × 15) = 63 − 30 = 33; measured 32 over 2.133 s
    const p15 = { ...profile, fps: 15 };
    expect(check(p15, { frames: 32, durationSec: 2.1333 })).toEqual([]);
    expect(check(p15, { frames: 33, durationSec: 2.2 })).toEqual([]);
    expect(check(p15, { frames: 35, durationSec: 2.3333 })).toEqual([]);
    expect(check(p15, { frames: 36, durationSec: 2.4 })).toEqual(['frames']);
    expect(check(p15, { frames: 31, durationSec: 2.0667 })).toEqual(['frames']);
    expect(check(p15, { frames: 30, durationSec: 2.0 })).toEqual(['frames']);
    expect(check(p15, { frames: 33, durationSec: 2.45 })).toEqual(['duration']);
  });

  it('a publisher flushing 47 frames under one timestamp at its end: the fps filter runs 2 slots past the source\'s end', () => {
    // Measured: GStreamer x264enc under load, last segment of the stream, 60 frames over 0.41 s.
    const flushed: SegmentFacts = { ...source, frames: 60, fps: 146.402, durationSec: 0.4098305, startSec: 9.03 };
    const p60 = { ...profile, fps: 60 };
    const got = (frames: number) => checkTiming(p60, flushed, { ...flushed, frames, fps: 60, durationSec: frames / 60 }).map((f) => f.reason);
    // round(9.4398 × 60) − round(9.03 × 60) = 566 − 542 = 24; ladder-v3 made 26
    expect([got(23), got(24), got(26)]).toEqual([[], [], []]);
    expect(got(22)).toEqual(['frames']);
    expect(got(27)).toEqual(['frames']);
  });
});
