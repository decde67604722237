import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { scanKeys, type RedisClient } from '../redis/redisClient.js';
import { SweepLease } from '../redis/sweepLease.js';
import type { Logger } from 'pino';
import { liveKeys } from '@segmint/protocol';
import type { PublishedRecord } from '../live/liveState.js';

const lua = (name: string) => readFileSync(new URL(`./lua/${name}`, import.meta.url), 'utf8');
const SCRIPTS = {
  segmintOutboxAck: { numberOfKeys: 1, lua: lua('outboxAck-1.lua') },
  segmintOutboxRelease: { numberOfKeys: 1, lua: lua('outboxRelease-1.lua') },
};
type Commands = {
  segmintOutboxAck(key: string, entry: string): Promise<number>;
  segmintOutboxRelease(key: string, token: string): Promise<number>;
};

/** What the live-state scripts append to a stream's outbox (live/lua/resolve-5.lua, end-4.lua). */
export type OutboxEntry = { t: 'published'; record: PublishedRecord } | { t: 'ended'; session: number; at: number };

/** The effects of outbox entries. Each must be idempotent: an entry is applied at least once. */
export type OutboxEffects = {
  published(streamId: string, record: PublishedRecord): Promise<void>;
  ended(streamId: string, session: number, at: number): Promise<void>;
};

export type SessionOutboxOptions = {
  redis: RedisClient;
  prefix: string;
  effects: OutboxEffects;
  logger: Logger;
  /** How often every stream's outbox is looked at (entries left by a process that died). */
  sweepMs?: number;
  /** How long one orchestrator holds a stream's outbox while draining it. */
  leaseMs?: number;
  /** Test only: kill -9 this process at the first `published` entry, before or after applying it (not acknowledged). */
  testCrash?: 'before-published' | 'after-published';
};

/**
 * Drains the streams' outboxes: the facts' follow-ups (usage, recordings, webhooks) written in the
 * same Redis script as the fact, so a process dying right after the fact loses none. Any
 * orchestrator drains any stream (one at a time per stream, under a lease), in order, and
 * acknowledges an entry only after its effect is done: a crash in between applies it again,
 * which the effects make a no-op. Nudged by the local pipeline events; swept for the rest.
 */
export class SessionOutbox {
  private readonly redis: RedisClient & Commands;
  private readonly running = new Map<string, Promise<void>>();
  private readonly dirty = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly token = randomUUID();
  /** One orchestrator at a time sweeps (a SCAN of the keyspace): the others' sweeps would find the same outboxes. */
  private readonly sweepLease: SweepLease;

  constructor(private readonly o: SessionOutboxOptions) {
    for (const [name, def] of Object.entries(SCRIPTS)) if (!(name in o.redis)) o.redis.defineCommand(name, def);
    this.redis = o.redis as RedisClient & Commands;
    this.sweepLease = new SweepLease(o.redis, o.prefix, 'outbox', 3 * (o.sweepMs ?? 2000), this.token);
  }

  start(): void {
    const sweep = () => void this.sweep().catch((err: unknown) => this.o.logger.warn({ err }, 'outbox sweep failed'));
    this.timer = setInterval(sweep, this.o.sweepMs ?? 2000);
    this.timer.unref();
    sweep();
  }

  /** Drains a stream's outbox now (again once more if a drain is running). */
  nudge(streamId: string): void {
    if (this.closed) return;
    if (this.running.has(streamId)) {
      this.dirty.add(streamId);
      return;
    }
    const run = this.drain(streamId)
      .catch((err: unknown) => this.o.logger.error({ err, streamId }, 'outbox entry failed: retried at the next sweep'))
      .finally(() => {
        this.running.delete(streamId);
        if (this.dirty.delete(streamId)) this.nudge(streamId);
      });
    this.running.set(streamId, run);
  }

  /**
   * Every stream with something in its outbox (left by a process that died, or another
   * orchestrator's), on whichever orchestrator holds the sweep's lease.
   */
  private async sweep(): Promise<void> {
    if (!(await this.sweepLease.held())) return;
    const glob = `${this.o.prefix.replace(/[*?[\]\\]/g, '\\$&')}:live:{*}:outbox`;
    for (const key of await scanKeys(this.redis, glob)) {
      const id = /:live:\{(.+)\}:outbox$/.exec(key)?.[1];
      if (id && !this.closed) this.nudge(id);
    }
  }

  private async drain(streamId: string): Promise<void> {
    const outbox = liveKeys(this.o.prefix, streamId).outbox;
    const lease = `${outbox}:lease`;
    if ((await this.redis.set(lease, this.token, 'PX', this.o.leaseMs ?? 30_000, 'NX')) !== 'OK') return;
    try {
      while (!this.closed) {
        const raw = await this.redis.lindex(outbox, 0);
        if (raw === null) return;
        await this.apply(streamId, raw);
        await this.redis.segmintOutboxAck(outbox, raw);
        await this.redis.pexpire(lease, this.o.leaseMs ?? 30_000);
      }
    } finally {
      await this.redis.segmintOutboxRelease(lease, this.token).catch(() => {});
    }
  }

  private async apply(streamId: string, raw: string): Promise<void> {
    let entry: OutboxEntry;
    try {
      entry = JSON.parse(raw) as OutboxEntry;
    } catch {
      this.o.logger.error({ streamId, raw: raw.slice(0, 200) }, 'unreadable outbox entry dropped');
      return;
    }
    if (entry.t === 'published') {
      if (this.o.testCrash === 'before-published') process.kill(process.pid, 'SIGKILL');
      await this.o.effects.published(streamId, entry.record);
      if (this.o.testCrash === 'after-published') process.kill(process.pid, 'SIGKILL');
    } else if (entry.t === 'ended') {
      await this.o.effects.ended(streamId, entry.session, entry.at);
    }
  }

  /** Stops sweeping and waits for the drains under way. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await Promise.all(this.running.values());
    await this.sweepLease.release().catch(() => {});
  }
}
