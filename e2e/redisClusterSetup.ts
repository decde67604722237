import { rm } from 'node:fs/promises';
import { startRedisCluster, type LocalRedisCluster } from '../orchestrator/src/demo/localRedis.js';

let cluster: LocalRedisCluster | undefined;

/**
 * SEGMINT_TEST_REDIS_CLUSTER=1: the e2e suite runs on a 3-master Redis Cluster started here
 * (redis-server ×3 + redis-cli --cluster create), named to the tests by SEGMINT_E2E_REDIS_URL;
 * unit tests keep REDIS_URL. Loaded by jest's global setup (e2e/globalSetup.mjs).
 */
export async function setup(): Promise<void> {
  if (process.env.SEGMINT_TEST_REDIS_CLUSTER !== '1' || process.env.SEGMINT_E2E_REDIS_URL) return;
  cluster = await startRedisCluster();
  process.env.SEGMINT_E2E_REDIS_URL = cluster.url;
  process.env.SEGMINT_E2E_REDIS_CLUSTER = '1';
  console.log(`\n== e2e on a Redis Cluster: 3 masters on ports ${cluster.ports.join(', ')}`);
}

export async function teardown(): Promise<void> {
  if (!cluster) return;
  await cluster.stop();
  await rm(cluster.dir, { recursive: true, force: true });
}
