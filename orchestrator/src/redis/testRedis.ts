/**
 * Test helper (jest hooks): the two Redis backends every Lua-scripted store is tested on, one
 * Redis server and a 3-master Redis Cluster started for the describe block that asks for it.
 */
import { startRedisCluster, type LocalRedisCluster } from '../demo/localRedis.js';
import { createRedis, deleteKeys, scanKeys, type RedisClient } from './redisClient.js';

export const REDIS_BACKENDS = ['single Redis', 'Redis Cluster'] as const;
export type RedisBackend = (typeof REDIS_BACKENDS)[number];

/**
 * A client on `backend` for the enclosing describe block: set in its beforeAll (read `.redis` in
 * later hooks and in tests); after it, the keys under `prefix` are deleted and the cluster stopped.
 */
export function useTestRedis(backend: RedisBackend, prefix: string): { redis: RedisClient } {
  const ctx = {} as { redis: RedisClient };
  let cluster: LocalRedisCluster | undefined;
  beforeAll(async () => {
    if (backend === 'Redis Cluster') cluster = await startRedisCluster();
    ctx.redis = createRedis({ url: cluster?.url ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', cluster: !!cluster });
  }, 30_000);
  afterAll(async () => {
    await deleteKeys(ctx.redis, await scanKeys(ctx.redis, `${prefix}:*`));
    await ctx.redis.quit();
    await cluster?.stop();
  });
  return ctx;
}
