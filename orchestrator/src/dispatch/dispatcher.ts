import { Queue, QueueEvents, type ConnectionOptions } from 'bullmq';
import { TRANSCODE_QUEUE, type TranscodeJob } from '@segmint/protocol';

/**
 * Hands transcode jobs to workers. The live spine has one shared queue; the marketplace puts an
 * auction behind this same interface (a queue per worker, deadlines, failover).
 */
export interface Dispatcher {
  enqueue(job: TranscodeJob): Promise<void>;
  /** The job's data while it is known (in flight, or recently finished). */
  get(jobId: string): Promise<TranscodeJob | null>;
  /** Called once per job that failed every attempt. */
  onGaveUp(handler: (job: TranscodeJob, reason: string) => void): void;
  close(): Promise<void>;
}

export type BullDispatcherOptions = {
  connection: ConnectionOptions;
  prefix: string;
  /** Attempts per job before the segment is skipped. */
  attempts: number;
};

export class BullDispatcher implements Dispatcher {
  private readonly queue: Queue<TranscodeJob>;
  private readonly events: QueueEvents;
  private readonly handlers: ((job: TranscodeJob, reason: string) => void)[] = [];

  constructor(private readonly opts: BullDispatcherOptions) {
    this.queue = new Queue<TranscodeJob>(TRANSCODE_QUEUE, {
      connection: opts.connection,
      prefix: opts.prefix,
      defaultJobOptions: {
        attempts: opts.attempts,
        backoff: { type: 'fixed', delay: 100 },
        removeOnComplete: { age: 600, count: 10_000 },
        removeOnFail: { age: 24 * 3600 },
      },
    });
    this.events = new QueueEvents(TRANSCODE_QUEUE, { connection: opts.connection, prefix: opts.prefix });
    // 'failed' fires only when a job has no attempts left (a retry is not a failure here).
    this.events.on('failed', ({ jobId, failedReason }) => {
      void this.queue.getJob(jobId).then((job) => {
        if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) for (const h of this.handlers) h(job.data, failedReason);
      });
    });
  }

  async ready(): Promise<void> {
    await Promise.all([this.queue.waitUntilReady(), this.events.waitUntilReady()]);
  }

  async enqueue(job: TranscodeJob): Promise<void> {
    await this.queue.add('transcode', job, { jobId: job.jobId });
  }

  async get(jobId: string): Promise<TranscodeJob | null> {
    const job = await this.queue.getJob(jobId);
    return job?.data ?? null;
  }

  onGaveUp(handler: (job: TranscodeJob, reason: string) => void): void {
    this.handlers.push(handler);
  }

  async close(): Promise<void> {
    await Promise.all([this.events.close(), this.queue.close()]);
  }
}
