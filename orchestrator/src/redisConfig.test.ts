import { ConfigError, loadOrchestratorConfig } from './config.js';

describe('SEGMINT_REDIS_CLUSTER', () => {
  it('is off by default, 1 runs on a Redis Cluster, and anything but 0 or 1 is refused', () => {
    expect(loadOrchestratorConfig([], {}).redisCluster).toBe(false);
    expect(loadOrchestratorConfig([], { SEGMINT_REDIS_CLUSTER: '1' }).redisCluster).toBe(true);
    expect(() => loadOrchestratorConfig([], { SEGMINT_REDIS_CLUSTER: 'yes' })).toThrow(ConfigError);
  });
});
