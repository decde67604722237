import type { Logger } from 'pino';
import type { PrivateKeyAccount } from 'viem/accounts';
import type { Address, Hex } from 'viem';
import type { ConnectionOptions, RedisOptions } from 'bullmq';
import { Cluster } from 'ioredis';
import { buildCommitmentTree, commitmentTypedData, registrationTypedData, type Capabilities, type MarketplaceInfo, type Registered, type WorkerRedis } from '@segmint/protocol';
import { call, postJson } from '../http.js';

export type MarketplaceClientOptions = {
  orchestratorUrl: string;
  account: PrivateKeyAccount;
  pricePerPixel: bigint;
  capabilities: Capabilities;
  logger?: Logger;
  /** Called after every registration but the first (start's): the Redis password has changed. */
  onRegisteredAgain?: (r: Registered) => void;
};

/**
 * BullMQ connection options for the worker's own queue: the Redis user and password from its
 * registration, at the URL the orchestrator named, or at `override`'s host, port, db and TLS (the
 * override's own credentials, if any, are ignored). INFO is refused to worker users, so neither
 * ioredis's ready check nor BullMQ's version check may use it.
 */
export function queueConnection(redis: WorkerRedis, override?: string): RedisOptions {
  const u = new URL(override || redis.url);
  return {
    host: u.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: Number(u.port || 6379),
    db: Number(u.pathname.slice(1) || 0),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    username: redis.username,
    password: redis.password,
    enableReadyCheck: false,
    skipVersionCheck: true,
    // Redis restarted: try again every second, forever (BullMQ's own backoff grows to 20 s).
    retryStrategy: (times: number) => Math.min(times * 100, 1000),
  };
}

/**
 * The connection BullMQ uses for the worker's queue: options for one server, or a cluster client
 * when the orchestrator's Redis is a Redis Cluster (the registration answer says which).
 */
export function queueRedis(redis: WorkerRedis, override?: string): ConnectionOptions {
  const one = queueConnection(redis, override);
  if (!redis.cluster) return one;
  const { host, port, retryStrategy, ...node } = one;
  // BullMQ closes a connection it was handed only if it made it: the runner disconnects this one.
  return new Cluster([{ host: host!, port: port! }], { redisOptions: { ...node, maxRetriesPerRequest: null }, clusterRetryStrategy: retryStrategy, maxRedirections: 16 });
}

let lastNonce = 0n;
/** Strictly increasing across restarts (time-based), and within one process (counter). */
function nextNonce(): bigint {
  const now = BigInt(Date.now()) * 1000n;
  lastNonce = now > lastNonce ? now : lastNonce + 1n;
  return lastNonce;
}

/**
 * The worker's side of the marketplace: signs its registration (EIP-712, bound to the
 * orchestrator's URL and chain), then heartbeats. Registers again when the orchestrator forgot it
 * (Redis flushed, heartbeat lapsed long ago).
 */
export class MarketplaceClient {
  private registered: Registered | null = null;
  private market: MarketplaceInfo | null = null;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private again: Promise<void> | undefined;

  constructor(private readonly o: MarketplaceClientOptions) {}

  get address(): string {
    return this.o.account.address.toLowerCase();
  }

  async info(): Promise<MarketplaceInfo> {
    return (await (await call(`${this.o.orchestratorUrl}/marketplace/info`)).json()) as MarketplaceInfo;
  }

  async register(): Promise<Registered> {
    const info = await this.info();
    this.market = info;
    if (this.o.pricePerPixel > BigInt(info.maxPricePerPixel)) {
      this.o.logger?.warn({ ask: this.o.pricePerPixel.toString(), max: info.maxPricePerPixel }, 'ask is above the orchestrator max price per pixel: this worker will win nothing');
    }
    const unsigned = {
      worker: this.o.account.address,
      pricePerPixel: this.o.pricePerPixel.toString(),
      capabilities: this.o.capabilities,
      nonce: nextNonce().toString(),
    };
    const signature = await this.o.account.signTypedData(registrationTypedData(unsigned, info.orchestrator, info.chainId));
    const res = await postJson(`${this.o.orchestratorUrl}/marketplace/register`, { ...unsigned, signature });
    this.registered = (await res.json()) as Registered;
    return this.registered;
  }

  /** Registers, then heartbeats until stop(); problems are logged and retried, never thrown. */
  async start(): Promise<Registered> {
    const registered = await this.register();
    const beat = async () => {
      if (this.stopped) return;
      try {
        await postJson(`${this.o.orchestratorUrl}/marketplace/heartbeat`, { worker: this.address }, { authorization: `Bearer ${this.registered!.heartbeatToken}` });
      } catch (err) {
        const code = (err as { code?: string }).code;
        this.o.logger?.warn({ err: (err as Error).message, code }, 'heartbeat failed');
        if (code === 'WORKER_NOT_REGISTERED' || code === 'UNAUTHORIZED') await this.registerAgain();
      }
      if (!this.stopped) this.timer = setTimeout(beat, this.registered!.heartbeatIntervalMs);
    };
    this.timer = setTimeout(beat, registered.heartbeatIntervalMs);
    return registered;
  }

  /**
   * Registers anew (the orchestrator forgot this worker, or Redis lost its ACL user) and hands the
   * new registration to onRegisteredAgain; one at a time, failures logged, never thrown.
   */
  registerAgain(): Promise<void> {
    this.again ??= this.register()
      .then((r) => this.o.onRegisteredAgain?.(r))
      .catch((e) => this.o.logger?.warn({ err: (e as Error).message }, 'registering again failed'))
      .finally(() => (this.again = undefined));
    return this.again;
  }

  /**
   * Signs this worker's commitment to a job's renditions (EIP-712 for StakingManager): the root of
   * the Merkle tree of (jobId, rendition, sha256) leaves. A wrong hash under it can be slashed.
   */
  async commit(jobId: string, renditions: { name: string; sha256: string }[]): Promise<{ root: Hex; signature: Hex }> {
    const info = this.market ?? (this.market = await this.info());
    const root = buildCommitmentTree(jobId, renditions).root as Hex;
    const signature = await this.o.account.signTypedData(commitmentTypedData(jobId, root, info.chainId, info.stakingManager as Address));
    return { root, signature };
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}
