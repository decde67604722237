import { IngestHealthTracker } from './ingestHealth.js';

describe('IngestHealthTracker', () => {
  it('reports bitrate, fps and keyframe interval from media messages', () => {
    const h = new IngestHealthTracker(2);
    const t0 = 1_000_000;
    for (let f = 0; f < 120; f++) {
      const ts = Math.round((f * 1000) / 30);
      h.media(10_000, t0 + ts); // 10 kB a frame at 30 fps: 2.4 Mb/s
      h.videoFrame(ts, f % 60 === 0);
    }
    const s = h.snapshot(t0 + 4000);
    expect(s.fps).toBeCloseTo(30, 0);
    expect(s.keyframeInterval).toBe(2);
    expect(s.bitrate).toBeGreaterThan(2_000_000);
    expect(s.bitrate).toBeLessThan(2_800_000);
    expect(s.warnings).toEqual([]);
  });

  it('warns when the keyframe interval exceeds the segment target', () => {
    const h = new IngestHealthTracker(2);
    h.videoFrame(0, true);
    h.videoFrame(5000, true);
    expect(h.snapshot().warnings).toEqual([expect.stringContaining('keyframe interval 5.00 s exceeds the 2 s segment target')]);
  });

  it('does not warn about a GOP a few ms over the target (whole-ms timestamps, 29.97 fps)', () => {
    const h = new IngestHealthTracker(2);
    h.videoFrame(0, true);
    h.videoFrame(2002, true); // 60 frames at 30000/1001 fps
    expect(h.snapshot().keyframeInterval).toBe(2.002);
    expect(h.snapshot().warnings).toEqual([]);
    h.videoFrame(4102, true); // 2.1 s: segments really get longer
    expect(h.snapshot().warnings).toEqual([expect.stringContaining('keyframe interval 2.10 s exceeds')]);
  });
});
