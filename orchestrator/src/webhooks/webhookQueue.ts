import { createHash, randomUUID } from 'node:crypto';
import { Queue, Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { Logger } from 'pino';
import { outboundRequest } from '../egress/outboundRequest.js';
import { UnsafeUrlError, type OutboundPolicy } from '../egress/outboundAddress.js';
import { signatureHeader } from './signature.js';
import type { WebhookConfig } from './webhookConfig.js';
import type { WebhookEvent } from './webhookEvents.js';
import type { Webhook, WebhookDelivery, WebhookStore } from './webhookStore.js';

/** BullMQ queue of webhook deliveries (under the orchestrator's Redis prefix). */
/** Braces: a Redis Cluster hash tag (BullMQ's scripts touch several keys of the queue). */
export const WEBHOOK_QUEUE = '{webhooks}';

/** One queued delivery: the body is fixed at enqueue time, so every retry sends the same bytes. */
export type DeliveryJob = { webhookId: string; eventId: string; event: WebhookEvent; body: string };

/**
 * A UUID-shaped event id that is a function of what the event is about (e.g. stream, session and
 * event name): queuing the same event twice (an outbox entry drained again after a crash) then
 * makes the same BullMQ job ids, and BullMQ keeps one.
 */
export function eventIdOf(...parts: string[]): string {
  const h = createHash('sha256').update(parts.join('\n')).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Thrown for a failed attempt: BullMQ retries it with exponential backoff. */
export class DeliveryFailedError extends Error {
  override name = 'DeliveryFailedError';
}

const MAX_LOGGED = 4096;
/** The first MAX_LOGGED bytes of a response (the rest is not read: a receiver may answer forever). */
async function text(body: AsyncIterable<Buffer> & { destroy(): void }): Promise<string> {
  let out = '';
  for await (const chunk of body) {
    out += chunk.toString('utf8');
    if (out.length > MAX_LOGGED) break;
  }
  body.destroy();
  return out;
}
const clip = (s: string) => (s.length > MAX_LOGGED ? `${s.slice(0, MAX_LOGGED)}…` : s);

/**
 * Queues signed webhook deliveries in BullMQ and delivers them: at least once, retried with
 * exponential backoff, and still queued across an orchestrator restart (a delivery in flight when a
 * process dies is retried by BullMQ's stalled-job check). Each attempt is written to the delivery log.
 */
export class WebhookQueue {
  private readonly queue: Queue<DeliveryJob>;
  private readonly worker: Worker<DeliveryJob>;

  constructor(
    private readonly store: WebhookStore,
    private readonly opts: { connection: ConnectionOptions; prefix: string; config: WebhookConfig; outbound: OutboundPolicy; logger: Logger },
  ) {
    this.queue = new Queue<DeliveryJob>(WEBHOOK_QUEUE, {
      connection: opts.connection,
      prefix: opts.prefix,
      defaultJobOptions: {
        attempts: opts.config.attempts,
        backoff: { type: 'exponential', delay: opts.config.backoffMs },
        removeOnComplete: { age: 24 * 3600, count: 10_000 },
        removeOnFail: { age: 7 * 24 * 3600 },
      },
    });
    this.worker = new Worker<DeliveryJob>(WEBHOOK_QUEUE, (job) => this.deliver(job), {
      connection: opts.connection,
      prefix: opts.prefix,
      concurrency: 8,
    });
    this.worker.on('error', (err) => opts.logger.warn({ err }, 'webhook worker error'));
    this.worker.on('failed', (job, err) => {
      if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) opts.logger.warn({ webhookId: job.data.webhookId, event: job.data.event, err: err.message }, 'webhook delivery gave up');
    });
  }

  async ready(): Promise<void> {
    await Promise.all([this.queue.waitUntilReady(), this.worker.waitUntilReady()]);
  }

  /**
   * Queues `event` for each webhook, Studio's payload shape; returns the event id. With `eventId`
   * (see eventIdOf) queuing the same event again is a no-op: one delivery per webhook.
   */
  async enqueue(hooks: Webhook[], event: WebhookEvent, payload: Record<string, unknown>, eventId: string = randomUUID()): Promise<string> {
    const now = Date.now();
    await Promise.all(
      hooks.map((h) => {
        const body = JSON.stringify({ id: eventId, webhookId: h.id, createdAt: now, timestamp: now, event, ...payload });
        return this.queue.add(event, { webhookId: h.id, eventId, event, body }, { jobId: `${eventId}.${h.id}` });
      }),
    );
    return eventId;
  }

  private async deliver(job: Job<DeliveryJob>): Promise<string> {
    const { webhookId, eventId, event, body } = job.data;
    const hook = await this.store.get(webhookId);
    if (!hook) return 'webhook deleted: dropped';
    const logged = await this.attempt(hook, { eventId, event, body, attempt: job.attemptsMade + 1 });
    if (logged.error) throw new DeliveryFailedError(logged.error);
    return 'delivered';
  }

  /**
   * Sends a logged delivery's body again, now, freshly signed (Studio's resend: for debugging a
   * receiver); the attempt is logged like any other and returned. Not retried.
   */
  async resend(hook: Webhook, logged: WebhookDelivery): Promise<WebhookDelivery> {
    return this.attempt(hook, { eventId: logged.eventId, event: logged.event, body: logged.requestBody, attempt: logged.attempt + 1 });
  }

  /** One POST of `body` to the webhook's URL (through the SSRF guard), written to the delivery log. */
  private async attempt(hook: Webhook, d: { eventId: string; event: string; body: string; attempt: number }): Promise<WebhookDelivery> {
    const started = Date.now();
    let statusCode: number | null = null;
    let responseBody: string | null = null;
    let error: string | null = null;
    try {
      // redirects are not followed (a 3xx is a failed attempt); the address is checked on connect
      const res = await outboundRequest(hook.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Segmint-Webhooks/1',
          'livepeer-signature': signatureHeader(d.body, hook.sharedSecret, started),
        },
        body: d.body,
        maxRedirects: 0,
        ...this.opts.outbound,
        signal: AbortSignal.timeout(this.opts.config.timeoutMs),
      });
      statusCode = res.status;
      responseBody = clip(await text(res.body));
      if (res.status < 200 || res.status >= 300) error = `receiver answered HTTP ${res.status}`;
    } catch (err) {
      const e = err as Error;
      error = e instanceof UnsafeUrlError ? `refused: ${e.message} (webhooks are delivered to public addresses only)`
        : e.name === 'TimeoutError' || e.name === 'AbortError' ? `no answer within ${this.opts.config.timeoutMs} ms`
        : `could not reach the receiver: ${e.message}`;
    }
    return this.store.recordDelivery({
      webhookId: hook.id, eventId: d.eventId, event: d.event, attempt: d.attempt, createdAt: started, durationMs: Date.now() - started,
      url: hook.url, requestBody: d.body, statusCode, success: error === null, error, responseBody,
    });
  }

  async close(): Promise<void> {
    await this.worker.close();
    await this.queue.close();
  }
}
