/**
 * Checks the orchestrator runs itself when no peer with the same fingerprint is free: a durable
 * BullMQ queue in Redis (any orchestrator takes any check; a crash loses none), worked through at
 * `concurrency` at a time. Two kinds:
 * - `reference`: the worker's fingerprint is the orchestrator's own build and settings, so the
 *   orchestrator's re-transcode must give the same bytes: hashes are compared leaf by leaf, and a
 *   difference is a proof (slashable, like a 2-of-3 tie-break).
 * - `quality`: any other fingerprint (another build, a non-deterministic encoder, a fingerprint no
 *   peer shares): the rendition is judged against the source (see qualityCheck.ts).
 * The worker wins no work while it has too many checks open (pendingChecks.ts), so this queue
 * never falls behind what is published, whatever the orchestrator's spare CPU.
 */
import { Queue, Worker } from 'bullmq';
import { blockingDuplicate, type RedisClient } from '../redis/redisClient.js';
import type { Logger } from 'pino';

export type OwnCheckKind = 'reference' | 'quality';
export type OwnCheckData = { jobId: string; streamId: string; session: number; seq: number; worker: string; kind: OwnCheckKind };

/** Braces: a Redis Cluster hash tag (BullMQ's scripts touch several keys of the queue). */
export const OWN_CHECKS_QUEUE = '{orchestrator-checks}';

export class OwnChecks {
  readonly queue: Queue<OwnCheckData>;
  private worker: Worker<OwnCheckData> | null = null;
  private connection: RedisClient | null = null;

  constructor(private readonly redis: RedisClient, private readonly prefix: string) {
    this.queue = new Queue<OwnCheckData>(OWN_CHECKS_QUEUE, {
      connection: redis,
      prefix,
      defaultJobOptions: { attempts: 3, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: 1000, removeOnFail: 1000 },
    });
    this.queue.on('error', () => {}); // the connection's own errors are the orchestrator's to report
  }

  /** Queues a check once per (job, worker): a repeated add is a no-op. */
  async add(data: OwnCheckData): Promise<void> {
    await this.queue.add(data.kind, data, { jobId: `${data.jobId}|${data.worker}` });
  }

  /** Starts working through the queue (every orchestrator does: the work spreads). */
  start(run: (data: OwnCheckData) => Promise<void>, concurrency: number, logger: Logger): void {
    this.connection = blockingDuplicate(this.redis);
    this.worker = new Worker<OwnCheckData>(OWN_CHECKS_QUEUE, async (job) => run(job.data), {
      connection: this.connection,
      prefix: this.prefix,
      concurrency,
      // A check takes a re-transcode: a crashed orchestrator's checks are taken over after this.
      lockDuration: 60_000,
    });
    this.worker.on('failed', (job, err) => logger.warn({ jobId: job?.data.jobId, err: err.message }, 'own check failed'));
    this.worker.on('error', (err) => logger.warn({ err }, 'own check queue problem'));
  }

  async close(): Promise<void> {
    await this.worker?.close();
    await this.queue.close();
    this.connection?.disconnect();
  }
}
