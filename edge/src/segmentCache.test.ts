import { SegmentCache } from './segmentCache.js';

describe('SegmentCache', () => {
  it('keeps within its byte limit, dropping the least recently served first', async () => {
    const c = new SegmentCache(250);
    const load = (n: number) => async () => Buffer.alloc(n);
    await c.get('a', load(100));
    await c.get('b', load(100));
    await c.get('a', load(100)); // a is now the most recent
    await c.get('c', load(100)); // over 250: b goes
    expect(c.bytes).toBe(200);
    let fetched = false;
    await c.get('b', async () => ((fetched = true), Buffer.alloc(100)));
    expect(fetched).toBe(true);
    expect(c.bytes).toBeLessThanOrEqual(250);
  });

  it('pulls a segment once however many ask for it at the same time', async () => {
    const c = new SegmentCache(1000);
    let pulls = 0;
    const slow = async () => {
      pulls++;
      await new Promise((r) => setTimeout(r, 20));
      return Buffer.from('x');
    };
    await Promise.all([c.get('s', slow), c.get('s', slow), c.get('s', slow)]);
    expect(pulls).toBe(1);
  });

  it('does not cache a miss or a segment larger than the whole cache', async () => {
    const c = new SegmentCache(10);
    expect(await c.get('gone', async () => null)).toBeNull();
    await c.get('big', async () => Buffer.alloc(11));
    expect(c.size).toBe(0);
  });
});
