import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';

/**
 * The orchestrator's Redis: one server, or a Redis Cluster (SEGMINT_REDIS_CLUSTER=1, REDIS_URL
 * naming any node; the client finds the rest). Every key a script or MULTI touches shares a slot
 * (hash tags: `{streamId}` for a stream's live state, `{mkt}` for the market), so the code is the
 * same on both; the few commands that are per server (SCAN, ACL) go through `eachMaster`.
 */
export type RedisClient = Redis | Cluster;

export type RedisConnection = { url: string; cluster: boolean };

/** Connects (lazily: call `connect()`) with the given options applied to every node. */
export function createRedis(c: RedisConnection, options: RedisOptions = {}): RedisClient {
  if (!c.cluster) return new Redis(c.url, options);
  const u = new URL(c.url);
  const node = { host: u.hostname, port: Number(u.port || 6379) };
  const auth = { ...(u.username ? { username: decodeURIComponent(u.username) } : {}), ...(u.password ? { password: decodeURIComponent(u.password) } : {}) };
  const { lazyConnect, maxRetriesPerRequest, retryStrategy, enableOfflineQueue, enableAutoPipelining, ...rest } = options;
  const clusterOptions: ClusterOptions = {
    lazyConnect,
    // The cluster client pipelines per node itself (the nodes' own option would not).
    ...(enableAutoPipelining === undefined ? {} : { enableAutoPipelining }),
    ...(enableOfflineQueue === undefined ? {} : { enableOfflineQueue }),
    ...(retryStrategy ? { clusterRetryStrategy: retryStrategy } : {}),
    redisOptions: { ...rest, ...auth, ...(maxRetriesPerRequest === undefined ? {} : { maxRetriesPerRequest }), ...(u.protocol === 'rediss:' ? { tls: {} } : {}) },
    // A failover moves slots: follow MOVED/ASK redirections a few times before failing a command.
    maxRedirections: 16,
  };
  return new Cluster([node], clusterOptions);
}

/** The servers that hold data: every master of a cluster, or the one server. */
export function eachMaster(redis: RedisClient): Redis[] {
  return redis instanceof Cluster ? redis.nodes('master') : [redis];
}

/** Keys matching a glob on every master (SCAN, never KEYS), at most `limit`. */
export async function scanKeys(redis: RedisClient, match: string, limit = Infinity): Promise<string[]> {
  const out: string[] = [];
  for (const node of eachMaster(redis)) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', match, 'COUNT', 1000);
      cursor = next;
      out.push(...keys);
      if (out.length >= limit) return out.slice(0, limit);
    } while (cursor !== '0');
  }
  return out;
}

/** Deletes keys one slot-safe command each (a multi-key DEL must not span slots on a cluster). */
export async function deleteKeys(redis: RedisClient, keys: readonly string[]): Promise<void> {
  await Promise.all(keys.map((k) => redis.unlink(k)));
}

/** Runs a per-server command (ACL SETUSER, ACL DELUSER …) on every master and replica. */
export async function onEveryServer(redis: RedisClient, ...args: [string, ...(string | number)[]]): Promise<unknown> {
  const servers = redis instanceof Cluster ? redis.nodes('all') : [redis];
  const results = await Promise.all(servers.map((s) => s.call(...args)));
  return results[0];
}

/** A second connection for BullMQ workers (blocking reads need maxRetriesPerRequest: null). */
export function blockingDuplicate(redis: RedisClient): RedisClient {
  if (redis instanceof Cluster) return redis.duplicate(undefined, { redisOptions: { ...redis.options.redisOptions, maxRetriesPerRequest: null } });
  return redis.duplicate({ maxRetriesPerRequest: null });
}
