import { randomUUID } from 'node:crypto';
import { REDIS_BACKENDS, useTestRedis } from '../redis/testRedis.js';
import type { RedisClient } from '../redis/redisClient.js';
import { CreditLedger, type PaymentPlan } from './creditLedger.js';

// Real Redis, own prefix. The property: over any sequence of results, Σ tickets × EV + credit is
// exactly price × Σ pixels, and the credit left is always less than one ticket's EV.
const prefix = `segmint-test-pay-${randomUUID().slice(0, 8)}`;

/** mulberry32: a seeded PRNG, so a failure replays. */
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const base = (worker: string, jobId: string, owed: bigint): Omit<PaymentPlan, 'count' | 'credit'> => ({
  jobId, worker, faceValue: '1000', winProb: '1', recipientRandHash: `0x${'ab'.repeat(32)}`, expiry: 2_000_000_000,
  owed: owed.toString(), pricePerPixel: '1', pixels: owed.toString(),
});

/** On one Redis and on a 3-master Redis Cluster (a booking's keys share the worker's slot). */
describe.each(REDIS_BACKENDS)('CreditLedger on a %s', (backend) => {
  let redis: RedisClient;
  let ledger: CreditLedger;
  const ctx = useTestRedis(backend, prefix);
  beforeAll(() => {
    redis = ctx.redis;
    ledger = new CreditLedger(redis, prefix);
  });

  it('keeps Σ EV − price × Σ pixels within one ticket\'s EV over 500 seeded random results', async () => {
    for (const seed of [1, 2, 3]) {
      const rand = rng(seed);
      const worker = `0x${seed.toString().padStart(40, '0')}`;
      // EVs from 1 wei to ~10^15 wei; prices and pixel counts such that a result is worth from
      // a fraction of a ticket to many tickets (capped at maxTickets, the rest carried).
      const ev = BigInt(Math.floor(rand() * 1e6) + 1) * 10n ** BigInt(Math.floor(rand() * 10));
      let owedTotal = 0n;
      let evSent = 0n;
      let nextNonce = 0n;
      for (let i = 0; i < 500 / 3; i++) {
        const price = BigInt(Math.floor(rand() * 5000));
        const pixels = BigInt(Math.floor(rand() * 1280 * 720 * 60));
        const owed = price * pixels;
        owedTotal += owed;
        const b = await ledger.book(base(worker, `job-${seed}-${i}`, owed), ev, { maxTickets: 1_000_000, canPay: true });
        expect(b.nonceStart).toBe(nextNonce);
        nextNonce += BigInt(b.count);
        evSent += BigInt(b.count) * ev;
        const credit = BigInt(b.credit);
        expect(credit).toBeGreaterThanOrEqual(0n);
        expect(credit).toBeLessThan(ev);
        expect(owedTotal - evSent).toBe(credit);
      }
      expect((await ledger.credit(worker)).balance).toBe(owedTotal - evSent);
    }
  });

  it('books a job once: a second booking returns the first plan and nonces, and moves no credit', async () => {
    const worker = '0x00000000000000000000000000000000000000aa';
    const first = await ledger.book(base(worker, 'job-once', 2500n), 1000n, { maxTickets: 100, canPay: true });
    expect(first.count).toBe(2);
    expect(first.credit).toBe('500');
    const again = await ledger.book(base(worker, 'job-once', 9999n), 1000n, { maxTickets: 100, canPay: true });
    expect(again).toEqual(first);
    expect(await ledger.credit(worker)).toEqual({ balance: 500n, nonce: 2n });
  });

  it('carries everything as credit when it cannot pay, and pays it with the next result', async () => {
    const worker = '0x00000000000000000000000000000000000000bb';
    const held = await ledger.book(base(worker, 'job-unpaid', 2500n), 1000n, { maxTickets: 100, canPay: false });
    expect(held.count).toBe(0);
    expect(held.credit).toBe('2500');
    const paid = await ledger.book(base(worker, 'job-paid', 600n), 1000n, { maxTickets: 100, canPay: true });
    expect(paid.count).toBe(3);
    expect(paid.credit).toBe('100');
  });

  it('never hands the same nonce twice or loses credit under 60 concurrent bookings', async () => {
    const worker = '0x00000000000000000000000000000000000000cc';
    const booked = await Promise.all(
      Array.from({ length: 60 }, (_, i) => ledger.book(base(worker, `job-c-${i}`, 1234n + BigInt(i)), 1000n, { maxTickets: 100, canPay: true })),
    );
    const nonces = booked.flatMap((b) => Array.from({ length: b.count }, (_, k) => b.nonceStart + BigInt(k)));
    expect(new Set(nonces).size).toBe(nonces.length);
    const owed = booked.reduce((s, b) => s + BigInt(b.owed), 0n);
    const { balance, nonce } = await ledger.credit(worker);
    expect(BigInt(nonces.length) * 1000n + balance).toBe(owed);
    expect(nonce).toBe(BigInt(nonces.length));
    expect(balance).toBeLessThan(1000n);
  });

  it('claws back a job proven wrong once: credit goes below zero and later results pay it off before any ticket', async () => {
    const worker = `0x${'c1'.repeat(20)}`;
    const ev = 1000n;
    await ledger.book(base(worker, 'bad-job', 2500n), ev, { maxTickets: 100, canPay: true }); // 2 tickets, 500 credit
    expect((await ledger.credit(worker)).balance).toBe(500n);
    expect(await ledger.clawBack('bad-job', worker)).toBe(true);
    expect((await ledger.credit(worker)).balance).toBe(-2000n);
    expect(await ledger.clawBack('bad-job', worker)).toBe(false); // once per job
    expect(await ledger.clawBack('never-paid', worker)).toBe(false);
    const next = await ledger.book(base(worker, 'good-1', 1500n), ev, { maxTickets: 100, canPay: true });
    expect(next).toMatchObject({ count: 0, credit: '-500' });
    const after = await ledger.book(base(worker, 'good-2', 2600n), ev, { maxTickets: 100, canPay: true });
    expect(after).toMatchObject({ count: 2, credit: '100' });
  });
});
