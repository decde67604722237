import type { Pipeline } from '../pipeline.js';
import type { PublishedRecord } from '../live/liveState.js';
import { SignedSegments } from './signedSegments.js';

// The live state here is an array the test appends to, as publishing does; what is tested is
// SignedSegments' caching: a segment published after the cached read is found by fresh(since).
function pipelineWith(published: PublishedRecord[]) {
  let loads = 0;
  const p = {
    streams: { getByPlaybackId: async (id: string) => (id === 'pb' ? { id: 's1', playbackId: 'pb' } : null) },
    live: { snapshot: async () => (loads++, { meta: null, published: [...published], inflight: 0 }) },
  } as unknown as Pipeline;
  return { p, loads: () => loads };
}
const record = (seq: number): PublishedRecord =>
  ({ index: seq, discontinuity: false, entry: { session: 1, seq, renditions: { low: { bytes: 1000 + seq, sha256: `${seq}`.padStart(64, '0'), durationSec: 2 } } } }) as unknown as PublishedRecord;

describe('SignedSegments', () => {
  it('serves a cached read within a second, and a read no earlier than `since` when asked (a segment published a moment ago)', async () => {
    const published = [record(0)];
    const { p, loads } = pipelineWith(published);
    const s = new SignedSegments(p);
    expect((await s.get('pb'))!.byId.has('low/1_0.ts')).toBe(true);
    published.push(record(1));
    const since = Date.now();
    expect((await s.get('pb'))!.byId.has('low/1_1.ts')).toBe(false); // cached: the new segment is not there yet
    expect(loads()).toBe(1);
    await new Promise((r) => setTimeout(r, 5));
    expect((await s.fresh('pb', since + 1))!.byId.get('low/1_1.ts')).toMatchObject({ bytes: 1001 });
    expect(loads()).toBe(2);
    // a read that started after `since` is reused: one read per batch, not per receipt
    await s.fresh('pb', since + 1);
    expect(loads()).toBe(2);
  });
});
