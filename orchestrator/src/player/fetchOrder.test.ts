import { rankOf } from './fetchOrder.js';

const ids = Array.from({ length: 10 }, (_, i) => `-PM2300-viewer${i}abcdef`);
const ranksOf = (seg: number) => ids.map((me) => rankOf(me, ids.filter((p) => p !== me), seg));

describe('rankOf (who fetches a live segment from the origin first)', () => {
  it('gives the viewers of one swarm the ranks 0..N-1, every viewer computing the same order', () => {
    for (let seg = 0; seg < 200; seg++) expect([...ranksOf(seg)].sort((a, b) => a - b)).toEqual(ids.map((_, i) => i));
  });

  it('spreads the first place over the viewers, not runs of segments on one', () => {
    const firsts = Array.from({ length: 1000 }, (_, k) => ranksOf(5000 + k).indexOf(0));
    const per = ids.map((_, i) => firsts.filter((f) => f === i).length);
    expect(Math.min(...per)).toBeGreaterThan(60); // 100 each on average
    let longest = 1;
    for (let k = 1, run = 1; k < firsts.length; k++) longest = Math.max(longest, (run = firsts[k] === firsts[k - 1] ? run + 1 : 1));
    expect(longest).toBeLessThan(6);
  });

  it('a viewer that sees fewer peers ranks itself among those it sees', () => {
    const [me, ...peers] = ids;
    expect(rankOf(me!, [], 7)).toBe(0);
    expect(rankOf(me!, peers.slice(0, 3), 7)).toBeLessThanOrEqual(3);
  });
});
