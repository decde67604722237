import { REDIS_CLUSTER, testRedis } from './helpers.js';

describe('the suite\'s Redis', () => {
  it('is a 3-master Redis Cluster when SEGMINT_TEST_REDIS_CLUSTER=1, else one server', async () => {
    const redis = testRedis();
    const info = await redis.info('cluster');
    redis.disconnect();
    expect(REDIS_CLUSTER).toBe(process.env.SEGMINT_TEST_REDIS_CLUSTER === '1');
    expect(info.includes('cluster_enabled:1')).toBe(REDIS_CLUSTER);
  });
});
