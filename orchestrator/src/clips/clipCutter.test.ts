import { planClip } from './clipCutter.js';

const seg = (seq: number, durationSec = 2) => ({ seq, durationSec, renditions: { source: { bytes: 1, durationSec, width: 320, height: 180, codecs: 'avc1', fps: 30 } } });
const session = { createdAt: 10_000, recordingSegments: [seg(0), seg(1), seg(2), seg(3)] };

describe('planClip', () => {
  it('starts on the opening keyframe of the segment holding startTime and runs to endTime', () => {
    expect(planClip(session, 12_500, 15_000)).toEqual({ segments: [seg(1), seg(2)], startsAt: 12_000, durationSec: 3 });
  });
  it('starts exactly at startTime when it falls on a segment boundary', () => {
    expect(planClip(session, 14_000, 16_000)).toEqual({ segments: [seg(2)], startsAt: 14_000, durationSec: 2 });
  });
  it('ends at the end of what is recorded when endTime is later', () => {
    expect(planClip(session, 15_000, 99_000)).toEqual({ segments: [seg(2), seg(3)], startsAt: 14_000, durationSec: 4 });
  });
  it('is null when nothing recorded overlaps the range', () => {
    expect(planClip(session, 18_000, 20_000)).toBeNull();
    expect(planClip(session, 1_000, 10_000)).toBeNull();
    expect(planClip({ createdAt: 0, recordingSegments: [] }, 0, 1000)).toBeNull();
  });
});
