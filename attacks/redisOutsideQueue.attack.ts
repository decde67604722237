import { Redis } from 'ioredis';
import { liveKeys, workerQueueName } from '@segmint/protocol';
import type { Attack, AttackContext } from './attack.js';
import { marketKeys } from '../orchestrator/src/marketplace/keys.js';
import { paymentKeys } from '../orchestrator/src/payments/creditLedger.js';
import { registeredWorker, workerRedis } from './fixtures/workerCredentials.js';
export type Attempt = { what: string; refused: boolean; answer: string };

/**
 * Every write or read outside its own queue a hostile worker could try with the Redis credentials
 * its registration gave it. Destructive server-wide commands (FLUSHALL, FLUSHDB, CONFIG SET,
 * SCRIPT/FUNCTION FLUSH) are first asked of `ACL DRYRUN` by the orchestrator's own connection and
 * only sent for real when Redis says this user may not run them: if the ACL were wrong, the
 * shared Redis would not be wiped, and the attempt still counts as a success.
 */
export async function tryOutsideQueue(ctx: AttackContext): Promise<{ attacker: string; victim: string; attempts: Attempt[] }> {
  const { prefix } = ctx.orch;
  const victim = await registeredWorker(ctx.orch.url);
  const attacker = await registeredWorker(ctx.orch.url);
  const me = attacker.registered.worker;
  const admin = new Redis(ctx.redisUrl);
  const own = (suffix: string) => `${prefix}:${workerQueueName(me)}:${suffix}`;
  const theirs = (suffix: string) => `${prefix}:${workerQueueName(victim.registered.worker)}:${suffix}`;
  const live = liveKeys(prefix, 'attacked-stream');
  const credit = paymentKeys(prefix).credit(me);
  const market = marketKeys(prefix);
  const redis = workerRedis(attacker.registered);
  const attempts: Attempt[] = [];
  const attempt = async (what: string, run: () => Promise<unknown>) => {
    try {
      attempts.push({ what, refused: false, answer: JSON.stringify(await run()).slice(0, 200) });
    } catch (err) {
      attempts.push({ what, refused: true, answer: (err as Error).message.slice(0, 200) });
    }
  };
  /** Sent for real only when Redis says it would refuse it (see above). */
  const destructive = async (what: string, args: string[]) => {
    const dry = await admin.call('ACL', 'DRYRUN', attacker.registered.redis.username, ...args).then(String, (e: Error) => e.message);
    if (dry === 'OK') attempts.push({ what, refused: false, answer: 'ACL DRYRUN: allowed (not sent)' });
    else await attempt(what, () => redis.call(args[0]!, ...args.slice(1)));
  };
  try {
    await redis.connect();
    await attempt('PING (own connection works)', () => redis.ping()); // not an attack: checked below
    await attempt('HSET own credit', () => redis.hset(credit, 'wei', '1000000000000000000000'));
    await attempt('INCRBY own credit', () => redis.call('INCRBY', credit, '1000000000000000000000'));
    await attempt('HSET registry (own ask)', () => redis.hset(market.workers, me, '{}'));
    await attempt('DEL registry', () => redis.del(market.workers));
    await attempt('HSET own performance', () => redis.hset(market.perf(me), 'success', '1', 'latency', '0'));
    await attempt('DEL own exclusion', () => redis.del(market.excluded(me)));
    await attempt('ZADD heartbeat of another worker', () => redis.zadd(market.seen, Date.now(), victim.registered.worker));
    await attempt('HSET live state', () => redis.hset(live.meta, 'nextSeq', '0'));
    await attempt('RPUSH published list', () => redis.rpush(live.published, '{}'));
    await attempt('DEL another worker\'s queue', () => redis.del(theirs('wait'), theirs('meta'), theirs('id'), theirs('events')));
    await attempt('LPUSH job onto another worker\'s queue', () => redis.lpush(theirs('wait'), 'stolen'));
    await attempt('HGETALL another worker\'s job', () => redis.hgetall(theirs('1')));
    await attempt('RENAME own key to a foreign name', () => redis.set(own('x'), '1').then(() => redis.rename(own('x'), credit)));
    await attempt('COPY own key over a foreign one', () => redis.call('COPY', own('x'), credit, 'REPLACE'));
    await attempt('KEYS *', () => redis.keys('*'));
    await attempt('SCAN 0', () => redis.scan(0));
    await attempt('RANDOMKEY', () => redis.randomkey());
    await attempt('DBSIZE', () => redis.dbsize());
    await attempt('SORT own list BY a foreign pattern', () => redis.sort(own('wait'), 'BY', `${prefix}:*`));
    await attempt('EVAL writing an undeclared foreign key', () => redis.eval(`return redis.call('SET', '${credit}', '1')`, 0));
    await attempt('EVAL writing a declared foreign key', () => redis.eval("return redis.call('HSET', KEYS[1], 'wei', '1')", 1, credit));
    await attempt('EVAL declaring its own key, writing a foreign one', () => redis.eval(`return redis.call('DEL', '${market.workers}')`, 1, own('wait')));
    await attempt('EVAL calling KEYS', () => redis.eval("return redis.call('KEYS', '*')", 0));
    await attempt('EVALSHA of a script touching foreign keys', async () => {
      const sha = (await redis.call('SCRIPT', 'LOAD', `return redis.call('DEL', '${theirs('wait')}')`)) as string;
      return redis.evalsha(sha, 0);
    });
    await attempt('CONFIG GET *', () => redis.call('CONFIG', 'GET', '*'));
    await destructive('CONFIG SET appendonly no', ['CONFIG', 'SET', 'appendonly', 'no']);
    await destructive('FLUSHALL', ['FLUSHALL']);
    await destructive('FLUSHDB', ['FLUSHDB']);
    await destructive('SCRIPT FLUSH', ['SCRIPT', 'FLUSH']);
    await destructive('FUNCTION FLUSH', ['FUNCTION', 'FLUSH']);
    await attempt('FUNCTION LOAD', () => redis.call('FUNCTION', 'LOAD', "#!lua name=attack\nredis.register_function('a', function() return 1 end)"));
    await attempt('ACL WHOAMI', () => redis.call('ACL', 'WHOAMI'));
    await attempt('ACL LIST', () => redis.call('ACL', 'LIST'));
    await attempt('ACL SETUSER self +@all ~*', () => redis.call('ACL', 'SETUSER', attacker.registered.redis.username, '+@all', '~*'));
    await attempt('ACL DELUSER another worker', () => redis.call('ACL', 'DELUSER', victim.registered.redis.username));
    await attempt('INFO', () => redis.info());
    await attempt('CLIENT LIST', () => redis.call('CLIENT', 'LIST'));
    await attempt('CLIENT KILL another connection', () => redis.call('CLIENT', 'KILL', 'TYPE', 'normal'));
    await attempt('PUBLISH', () => redis.publish(`${prefix}:events`, 'x'));
    await attempt('MONITOR', () => redis.call('MONITOR'));
    // Redis refuses DEBUG to every remote client before its ACL is asked: ask the ACL itself.
    await attempt('DEBUG SLEEP (ACL DRYRUN)', async () => {
      const dry = await admin.call('ACL', 'DRYRUN', attacker.registered.redis.username, 'DEBUG', 'SLEEP', '0');
      if (String(dry) !== 'OK') throw new Error(String(dry));
      return dry;
    });
    await attempt('SELECT 1 then SET a foreign key', async () => {
      const other = workerRedis(attacker.registered, `${new URL(ctx.redisUrl).protocol}//${new URL(ctx.redisUrl).host}/1`);
      try {
        await other.connect();
        return await other.set(credit, '1');
      } finally {
        other.disconnect();
      }
    });
    await attempt('AUTH as the default user without a password', () => redis.call('AUTH', 'default', ''));
    await attempt('AUTH as another worker with its own username and a guess', () => redis.call('AUTH', victim.registered.redis.username, 'guess'));
    await attempt('AUTH as another worker with this worker\'s password', () => redis.call('AUTH', victim.registered.redis.username, attacker.registered.redis.password));
  } finally {
    redis.disconnect();
    await admin.quit();
    victim.client.stop();
    attacker.client.stop();
  }
  return { attacker: me, victim: victim.registered.worker, attempts };
}

export default {
  name: 'Redis writes outside its own queue',
  async run(ctx: AttackContext) {
    const { attempts } = await tryOutsideQueue(ctx);
    const [ping, ...attacks] = attempts;
    if (!ping || ping.refused) return { succeeded: false, detail: `the worker's own credentials did not even connect (${ping?.answer}): nothing was tried` };
    const worked = attacks.filter((a) => !a.refused);
    return {
      succeeded: worked.length > 0,
      detail: worked.length
        ? `allowed: ${worked.map((a) => `${a.what} → ${a.answer}`).join('; ')}`
        : `${attacks.length} commands outside its queue, all refused (e.g. ${attacks[0]!.what}: ${attacks[0]!.answer})`,
    };
  },
} satisfies Attack;
