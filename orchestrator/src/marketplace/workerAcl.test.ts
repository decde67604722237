import { Redis } from 'ioredis';
import { setWorkerAclUser, workerAclUser, workerKeyPattern, workerRedisUrl, passwordHash } from './workerAcl.js';

describe('worker Redis credentials', () => {
  it('hands workers the orchestrator\'s Redis URL without its user or password (db and TLS kept)', () => {
    expect(workerRedisUrl('redis://:secret@10.0.0.5:6380/2', '')).toBe('redis://10.0.0.5:6380/2');
    expect(workerRedisUrl('rediss://segmint:secret@redis.internal:6379', '')).toBe('rediss://redis.internal:6379');
    expect(workerRedisUrl('redis://:secret@127.0.0.1:6379', 'redis://public.example:6379')).toBe('redis://public.example:6379');
    expect(() => workerRedisUrl('not a url', '')).toThrow();
  });

  it('matches a prefix with glob characters literally', () => {
    expect(workerKeyPattern('a*b', '0xAB')).toBe('a\\*b:{transcode-0xab}:*');
    expect(workerAclUser('segmint', '0xAB')).toBe('w-segmint-0xab');
  });

  it('creates a user whose keys are its queue\'s only, with the password of that hash', async () => {
    const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
    const prefix = `acl-unit-${process.pid}`;
    const worker = '0x00000000000000000000000000000000000000aa';
    try {
      await setWorkerAclUser(redis, prefix, worker, passwordHash('pw'));
      const dry = (cmd: string[]) => redis.call('ACL', 'DRYRUN', workerAclUser(prefix, worker), ...cmd).then(String);
      expect(await dry(['HSET', `${prefix}:{transcode-${worker}}:1`, 'a', '1'])).toBe('OK');
      expect(await dry(['HSET', `${prefix}:{mkt}:workers`, 'a', '1'])).toMatch(/no permissions to access/);
      expect(await dry(['FLUSHALL'])).toMatch(/no permissions to run/);
      const at = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'); // host and port only: never its credentials
      const as = new Redis({ host: at.hostname, port: Number(at.port || 6379), username: workerAclUser(prefix, worker), password: 'pw', enableReadyCheck: false, lazyConnect: true });
      await as.connect();
      expect(await as.call('ACL', 'WHOAMI').catch((e: Error) => e.message)).toMatch(/NOPERM/);
      as.disconnect();
    } finally {
      await redis.call('ACL', 'DELUSER', workerAclUser(prefix, worker));
      await redis.quit();
    }
  });
});
