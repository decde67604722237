import { ConfigError, loadOrchestratorConfig } from './config.js';

describe('SEGMINT_REDIS_CLUSTER', () => {
  it('is off by default, refuses a cluster until the marketplace runs on one, and refuses anything but 0 or 1', () => {
    expect(loadOrchestratorConfig([], {}).redisCluster).toBe(false);
    expect(() => loadOrchestratorConfig([], { SEGMINT_REDIS_CLUSTER: '1' })).toThrow(/not supported yet: the marketplace/);
    expect(() => loadOrchestratorConfig([], { SEGMINT_REDIS_CLUSTER: 'yes' })).toThrow(ConfigError);
  });
});
