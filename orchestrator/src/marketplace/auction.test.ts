import { effectivePrice, ewma, runAuction, type Candidate } from './auction.js';

const caps = { encoders: ['libx264'], maxConcurrent: 2, cores: 2, maxHeight: 1080, fingerprint: 'f' };
const E18 = 10n ** 18n;
const worker = (name: string, over: Partial<Candidate> = {}): Candidate => ({
  worker: name, pricePerPixel: 100n, stake: 10n * E18, jailed: false, heartbeatFresh: true, capabilities: caps, inflight: 0,
  perf: { latencyRatio: 0.5, successRate: 1 }, ...over,
});
const job = { encoders: ['libx264'], maxHeight: 720 };
const rules = { minStake: E18, maxPricePerPixel: 1000n };

describe('runAuction', () => {
  it('the cheapest eligible worker wins and is paid its own ask', () => {
    const out = runAuction([worker('0xb', { pricePerPixel: 300n }), worker('0xa', { pricePerPixel: 100n }), worker('0xc', { pricePerPixel: 200n })], job, rules);
    expect(out.ranked.map((r) => r.worker)).toEqual(['0xa', '0xc', '0xb']);
    expect(out.clearingPricePerPixel).toBe(100n);
  });

  it.each<[string, Partial<Candidate>]>([
    ['stale-heartbeat', { heartbeatFresh: false }],
    ['faulty-excluded', { excluded: true }],
    ['stake-unavailable', { stakeUnavailable: true }],
    ['jailed', { jailed: true }],
    ['stake-below-minimum', { stake: E18 - 1n }],
    ['price-above-max', { pricePerPixel: 1001n }],
    ['capability', { capabilities: { ...caps, encoders: ['h264_nvenc'] } }],
    ['capability', { capabilities: { ...caps, maxHeight: 480 } }],
    ['no-free-slot', { inflight: 2 }],
  ])('never picks a worker that is %s', (reason, over) => {
    const out = runAuction([worker('0xbad', { ...over, pricePerPixel: over.pricePerPixel ?? 1n }), worker('0xgood', { pricePerPixel: 900n })], job, rules);
    expect(out.ranked.map((r) => r.worker)).toEqual(['0xgood']);
    expect(out.ineligible).toEqual([{ worker: '0xbad', reason }]);
  });

  it('gives nothing to a worker whose sampled results are still being checked, up to the limit', () => {
    const out = runAuction([worker('0xa', { pricePerPixel: 1n, checksPending: 2 }), worker('0xb', { pricePerPixel: 500n, checksPending: 1 })], job, { ...rules, maxPendingChecks: 2 });
    expect(out.ranked.map((r) => r.worker)).toEqual(['0xb']);
    expect(out.ineligible).toEqual([{ worker: '0xa', reason: 'checks-pending' }]);
  });

  it('excludes workers already tried for the segment', () => {
    const out = runAuction([worker('0xa'), worker('0xb', { pricePerPixel: 500n })], job, { ...rules, exclude: new Set(['0xa']) });
    expect(out.ranked.map((r) => r.worker)).toEqual(['0xb']);
  });

  it('has no winner when nobody is eligible', () => {
    expect(runAuction([worker('0xa', { jailed: true })], job, rules)).toMatchObject({ ranked: [], clearingPricePerPixel: null });
  });

  it('a slow or unreliable worker loses to a slightly dearer reliable one', () => {
    const slow = worker('0xslow', { pricePerPixel: 100n, perf: { latencyRatio: 1.4, successRate: 0.6 } });
    const good = worker('0xgood', { pricePerPixel: 150n });
    expect(runAuction([slow, good], job, rules).ranked[0]!.worker).toBe('0xgood');
  });

  it('breaks ties deterministically: lower ask, then more stake, then lower address', () => {
    const a = worker('0xa');
    const b = worker('0xb');
    expect(runAuction([b, a], job, rules).ranked.map((r) => r.worker)).toEqual(['0xa', '0xb']);
    expect(runAuction([a, b], job, rules).ranked.map((r) => r.worker)).toEqual(['0xa', '0xb']);
  });

  it('gives more stake a bounded advantage', () => {
    const small = effectivePrice(worker('0xa', { stake: E18 }), E18);
    const big = effectivePrice(worker('0xa', { stake: 1000n * E18 }), E18);
    const huge = effectivePrice(worker('0xa', { stake: 10n ** 30n }), E18);
    expect(big).toBeLessThan(small);
    expect(huge).toBeCloseTo(effectivePrice(worker('0xa'), E18) * (1 + 0.1 * Math.log2(11)) / 2, 6);
  });
});

describe('ewma', () => {
  it('moves a fifth of the way towards each sample', () => {
    expect(ewma(1, 0)).toBeCloseTo(0.8);
    expect(ewma(0.5, 1.5)).toBeCloseTo(0.7);
  });
});
