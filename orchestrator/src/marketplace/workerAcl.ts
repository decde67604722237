import { createHash, randomBytes } from 'node:crypto';
import { eachMaster, isCluster, onEveryServer, type RedisClient } from '../redis/redisClient.js';
import { workerQueueName } from '@segmint/protocol';

/**
 * Commands a BullMQ Worker sends, found by running one under a user allowed nothing else (and
 * reading `ACL LOG`): its Lua scripts (EVALSHA, with EVAL and SCRIPT LOAD as fallbacks), the
 * blocking pop on its marker, CLIENT SETNAME, and every command those scripts call, since Redis 7
 * checks commands and keys inside scripts against the caller's user. No keyless command that
 * reads or changes what is not the worker's own (KEYS, SCAN, FLUSHALL, CONFIG, ACL, INFO,
 * FUNCTION, SCRIPT FLUSH, PUBLISH…) is in the list.
 */
export const WORKER_COMMANDS = [
  'auth', 'hello', 'ping', 'select', 'quit', 'client|setname', 'client|getname',
  'evalsha', 'eval', 'script|load', 'script|exists', 'bzpopmin',
  'del', 'exists', 'get', 'hdel', 'hexists', 'hget', 'hgetall', 'hincrby', 'hlen', 'hmget', 'hmset', 'hset',
  'incr', 'incrby', 'lindex', 'llen', 'lpop', 'lpos', 'lpush', 'lrange', 'lrem', 'lset', 'ltrim',
  'persist', 'pexpire', 'pexpireat', 'pttl', 'rename', 'rpop', 'rpoplpush', 'rpush',
  'sadd', 'scard', 'set', 'sismember', 'smembers', 'srem', 'time', 'type', 'unlink',
  'xadd', 'xdel', 'xlen', 'xrange', 'xread', 'xtrim',
  'zadd', 'zcard', 'zcount', 'zlexcount', 'zpopmin', 'zrange', 'zrangebylex', 'zrangebyscore', 'zrem',
  'zremrangebyrank', 'zremrangebyscore', 'zrevrange', 'zrevrangebyscore', 'zscore',
] as const;

/** What a worker needs to reach its own queue: handed back in its registration answer. */
export type WorkerRedisCredentials = { url: string; username: string; password: string; prefix: string };

/** A Redis glob pattern that matches `text` literally. */
const globEscape = (text: string) => text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);

/** ACL user of a worker: one per prefix and address, so test prefixes never collide. */
export const workerAclUser = (prefix: string, worker: string) => `w-${prefix}-${worker.toLowerCase()}`;

/** Key pattern of a worker's BullMQ queue (every key BullMQ makes for it). */
export const workerKeyPattern = (prefix: string, worker: string) => `${globEscape(prefix)}:${globEscape(workerQueueName(worker))}:*`;

export const passwordHash = (password: string) => createHash('sha256').update(password).digest('hex');

/** A fresh random password and the SHA-256 Redis stores instead of it. */
export function newPassword(): { password: string; hash: string } {
  const password = randomBytes(32).toString('base64url');
  return { password, hash: passwordHash(password) };
}

/**
 * Creates or resets a worker's ACL user: only the password with this hash, only its queue's keys,
 * no channels, only WORKER_COMMANDS. `reset` first, so a re-registration rotates the password
 * (connections already logged in stay; new ones need the new password).
 */
export async function setWorkerAclUser(redis: RedisClient, prefix: string, worker: string, hash: string): Promise<void> {
  // On a Redis Cluster, every node keeps its own users, and a cluster client reads the slot map.
  const topology = isCluster(redis) ? CLUSTER_CLIENT_COMMANDS : [];
  await onEveryServer(
    redis, 'ACL', 'SETUSER', workerAclUser(prefix, worker), 'reset', 'on', `#${hash}`,
    `~${workerKeyPattern(prefix, worker)}`, 'resetchannels', '-@all', ...[...WORKER_COMMANDS, ...topology].map((c) => `+${c}`),
  );
}

/** What a cluster client sends besides its queue's commands: the slot map, and READONLY-free reads of it. */
export const CLUSTER_CLIENT_COMMANDS = ['cluster|slots', 'cluster|shards', 'cluster|nodes', 'cluster|info'] as const;

/** Deletes ACL users (their open connections are closed by RedisClient). */
export async function deleteWorkerAclUsers(redis: RedisClient, users: string[]): Promise<void> {
  if (users.length) await onEveryServer(redis, 'ACL', 'DELUSER', ...users);
}

/** ACL users of this prefix's workers that exist in Redis now. */
export async function listWorkerAclUsers(redis: RedisClient, prefix: string): Promise<string[]> {
  const all = new Set<string>();
  for (const node of eachMaster(redis)) for (const u of (await node.call('ACL', 'USERS')) as string[]) all.add(u);
  return [...all].filter((u) => u.startsWith(`w-${prefix}-0x`));
}

/**
 * The Redis URL workers are told to use: `configured` when set, else the orchestrator's own URL
 * without its credentials (the orchestrator's Redis user is never handed out).
 */
export function workerRedisUrl(orchestratorUrl: string, configured: string): string {
  const u = new URL(configured || orchestratorUrl);
  u.username = '';
  u.password = '';
  return u.toString().replace(/\/$/, '');
}
