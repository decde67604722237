import { randomUUID } from 'node:crypto';
import { createRedis, deleteKeys, scanKeys, type RedisClient } from './redisClient.js';
import { SweepLease } from './sweepLease.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('SweepLease', () => {
  let redis: RedisClient;
  const prefix = `segmint-test-${randomUUID().slice(0, 8)}`;
  beforeAll(() => {
    redis = createRedis({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', cluster: false });
  });
  afterAll(async () => {
    await deleteKeys(redis, await scanKeys(redis, `${prefix}:*`));
    await redis.quit();
  });

  it('lets one of three orchestrators run a sweep at a time, the same one while it renews', async () => {
    const leases = ['a', 'b', 'c'].map((token) => new SweepLease(redis, prefix, 'live', 300, token));
    for (let tick = 0; tick < 5; tick++) {
      expect(await Promise.all(leases.map((l) => l.held()))).toEqual([true, false, false]);
      await sleep(100);
    }
  });

  it('passes to another orchestrator once the holder stops renewing (it died), and at once when it releases', async () => {
    const [a, b] = ['a', 'b'].map((token) => new SweepLease(redis, prefix, 'outbox', 200, token));
    expect(await a!.held()).toBe(true);
    expect(await b!.held()).toBe(false);
    await sleep(300); // a is gone: no renewal
    expect(await b!.held()).toBe(true);
    expect(await a!.held()).toBe(false);
    await b!.release();
    expect(await a!.held()).toBe(true);
    await b!.release(); // not b's any more: a keeps it
    expect(await b!.held()).toBe(false);
  });

  it('keeps separate sweeps apart', async () => {
    const x = new SweepLease(redis, prefix, 'reindex', 1000, 'x');
    const y = new SweepLease(redis, prefix, 'registry', 1000, 'y');
    expect([await x.held(), await y.held()]).toEqual([true, true]);
  });
});
