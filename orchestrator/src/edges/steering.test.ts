import type { EdgeView } from './edgeRegistry.js';
import { eligible, steer, MYSTERY_FAIL_LIMIT } from './steering.js';

const edge = (edge: string, over: Partial<EdgeView> = {}): EdgeView => ({
  edge, url: `http://${edge}`, maxViewers: 10, registeredAt: 0, fresh: true, excluded: false, load: 0, stake: 100n, mysteryFailStreak: 0, latencyMs: 50, stats: {}, ...over,
});
const rules = { minStake: 100n };

describe('steering', () => {
  it('picks the least loaded edge relative to its capacity', () => {
    expect(steer([edge('a', { load: 5 }), edge('b', { load: 2 }), edge('c', { load: 30, maxViewers: 100 })], rules)?.edge).toBe('b');
  });

  it('skips stale, excluded, understaked, full, failing and avoided edges; none left is the origin (null)', () => {
    const bad = [
      edge('stale', { fresh: false }), edge('excluded', { excluded: true }), edge('poor', { stake: 99n }),
      edge('full', { load: 10 }), edge('failing', { mysteryFailStreak: MYSTERY_FAIL_LIMIT }), edge('avoided'),
    ];
    for (const e of bad) expect(eligible(e, rules, new Set(['avoided']))).toBe(false);
    expect(steer(bad, rules, new Set(['avoided']))).toBeNull();
    expect(steer([...bad, edge('ok', { load: 9 })], rules, new Set(['avoided']))?.edge).toBe('ok');
  });

  it('breaks load ties by mystery latency, then at random', () => {
    expect(steer([edge('slow', { latencyMs: 300 }), edge('fast', { latencyMs: 20 })], rules)?.edge).toBe('fast');
    const tied = [edge('x'), edge('y')];
    expect(steer(tied, rules, new Set(), () => 0)?.edge).toBe('x');
    expect(steer(tied, rules, new Set(), () => 0.99)?.edge).toBe('y');
  });
});
