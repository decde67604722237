import { randomBytes, randomUUID } from 'node:crypto';
import type { Database } from '../db/database.js';
import { isUuid } from '../streams/streamStore.js';
import type { WebhookEvent } from './webhookEvents.js';

export type WebhookFailure = { timestamp: number; error: string; statusCode: number | null; response: string | null };

export type Webhook = {
  id: string;
  ownerId: string;
  name: string;
  url: string;
  events: WebhookEvent[];
  sharedSecret: string;
  streamId: string | null;
  createdAt: number;
  lastTriggeredAt: number | null;
  lastFailure: WebhookFailure | null;
};

/** One delivery attempt, as the delivery log shows it. */
export type WebhookDelivery = {
  id: string;
  webhookId: string;
  eventId: string;
  event: string;
  attempt: number;
  createdAt: number;
  durationMs: number;
  url: string;
  requestBody: string;
  statusCode: number | null;
  success: boolean;
  error: string | null;
  responseBody: string | null;
};

type Row = {
  id: string; owner_id: string; name: string; url: string; events: WebhookEvent[] | string; shared_secret: string; stream_id: string | null;
  created_at: string | number; last_triggered_at: string | number | null; last_failure: WebhookFailure | string | null;
};
const COLUMNS = 'id, owner_id, name, url, events, shared_secret, stream_id, created_at, last_triggered_at, last_failure';
const json = <T>(v: T | string): T => (typeof v === 'string' ? (JSON.parse(v) as T) : v);
const fromRow = (r: Row): Webhook => ({
  id: r.id,
  ownerId: r.owner_id,
  name: r.name,
  url: r.url,
  events: json(r.events),
  sharedSecret: r.shared_secret,
  streamId: r.stream_id,
  createdAt: Number(r.created_at),
  lastTriggeredAt: r.last_triggered_at === null ? null : Number(r.last_triggered_at),
  lastFailure: r.last_failure === null ? null : json(r.last_failure),
});

type DeliveryRow = {
  id: string; webhook_id: string; event_id: string; event: string; attempt: number; created_at: string | number; duration_ms: number; url: string;
  request_body: string; status_code: number | null; success: boolean; error: string | null; response_body: string | null;
};
const fromDeliveryRow = (r: DeliveryRow): WebhookDelivery => ({
  id: r.id, webhookId: r.webhook_id, eventId: r.event_id, event: r.event, attempt: Number(r.attempt), createdAt: Number(r.created_at),
  durationMs: Number(r.duration_ms), url: r.url, requestBody: r.request_body, statusCode: r.status_code, success: r.success, error: r.error,
  responseBody: r.response_body,
});

export type WebhookFields = Pick<Webhook, 'name' | 'url' | 'events' | 'streamId'> & { sharedSecret?: string };
const LAST = 'ffffffff-ffff-ffff-ffff-ffffffffffff';

/** Webhooks and their delivery log, in PostgreSQL. */
export class WebhookStore {
  constructor(private readonly db: Database) {}

  async create(ownerId: string, f: WebhookFields): Promise<Webhook> {
    const rows = await this.db.query<Row>(
      `INSERT INTO webhooks (id, owner_id, name, url, events, shared_secret, stream_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ${COLUMNS}`,
      [randomUUID(), ownerId, f.name, f.url, JSON.stringify(f.events), f.sharedSecret ?? randomBytes(24).toString('hex'), f.streamId, Date.now()],
    );
    return fromRow(rows[0]!);
  }

  /** An owner's webhook; without `ownerId`, any live webhook (the delivery worker's view). */
  async get(id: string, ownerId?: string): Promise<Webhook | null> {
    if (!isUuid(id)) return null;
    const rows = ownerId
      ? await this.db.query<Row>(`SELECT ${COLUMNS} FROM webhooks WHERE id = $1 AND owner_id = $2 AND deleted_at IS NULL`, [id, ownerId])
      : await this.db.query<Row>(`SELECT ${COLUMNS} FROM webhooks WHERE id = $1 AND deleted_at IS NULL`, [id]);
    return rows[0] ? fromRow(rows[0]) : null;
  }

  async list(ownerId: string, p: { limit: number; after?: { createdAt: number; id: string } }): Promise<Webhook[]> {
    const rows = await this.db.query<Row>(
      `SELECT ${COLUMNS} FROM webhooks WHERE owner_id = $1 AND deleted_at IS NULL AND (created_at, id) < ($2, $3) ORDER BY created_at DESC, id DESC LIMIT $4`,
      [ownerId, p.after?.createdAt ?? Number.MAX_SAFE_INTEGER, p.after?.id ?? LAST, p.limit],
    );
    return rows.map(fromRow);
  }

  /** Replaces the editable fields (Studio's PUT); a secret is kept unless a new one is given. */
  async update(ownerId: string, id: string, f: WebhookFields): Promise<Webhook | null> {
    if (!isUuid(id)) return null;
    const rows = await this.db.query<Row>(
      `UPDATE webhooks SET name = $3, url = $4, events = $5, stream_id = $6, shared_secret = coalesce($7, shared_secret)
       WHERE id = $1 AND owner_id = $2 AND deleted_at IS NULL RETURNING ${COLUMNS}`,
      [id, ownerId, f.name, f.url, JSON.stringify(f.events), f.streamId, f.sharedSecret ?? null],
    );
    return rows[0] ? fromRow(rows[0]) : null;
  }

  async delete(ownerId: string, id: string): Promise<boolean> {
    if (!isUuid(id)) return false;
    const rows = await this.db.query(`UPDATE webhooks SET deleted_at = $3 WHERE id = $1 AND owner_id = $2 AND deleted_at IS NULL RETURNING id`, [id, ownerId, Date.now()]);
    return rows.length > 0;
  }

  /** The owner's webhooks subscribed to `event` for this stream (or for all streams). */
  async subscribers(ownerId: string, event: WebhookEvent, streamId: string | null): Promise<Webhook[]> {
    const rows = await this.db.query<Row>(
      `SELECT ${COLUMNS} FROM webhooks WHERE owner_id = $1 AND deleted_at IS NULL AND events @> $2::jsonb AND (stream_id IS NULL OR stream_id = $3)`,
      [ownerId, JSON.stringify([event]), streamId],
    );
    return rows.map(fromRow);
  }

  /** Logs one attempt (and the webhook's last-triggered/last-failure status); returns the log entry. */
  async recordDelivery(d: Omit<WebhookDelivery, 'id'>): Promise<WebhookDelivery> {
    const id = randomUUID();
    await this.db.query(
      `INSERT INTO webhook_deliveries (id, webhook_id, event_id, event, attempt, created_at, duration_ms, url, request_body, status_code, success, error, response_body)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
      [id, d.webhookId, d.eventId, d.event, d.attempt, d.createdAt, d.durationMs, d.url, d.requestBody, d.statusCode, d.success, d.error, d.responseBody],
    );
    const failure: WebhookFailure | null = d.success ? null : { timestamp: d.createdAt, error: d.error ?? 'failed', statusCode: d.statusCode, response: d.responseBody };
    await this.db.query(
      `UPDATE webhooks SET last_triggered_at = $2, last_failure = coalesce($3::jsonb, last_failure) WHERE id = $1`,
      [d.webhookId, d.createdAt, failure ? JSON.stringify(failure) : null],
    );
    return { id, ...d };
  }

  /** One entry of a webhook's delivery log. */
  async delivery(webhookId: string, id: string): Promise<WebhookDelivery | null> {
    if (!isUuid(id)) return null;
    const rows = await this.db.query<DeliveryRow>(`SELECT * FROM webhook_deliveries WHERE webhook_id = $1 AND id = $2`, [webhookId, id]);
    return rows[0] ? fromDeliveryRow(rows[0]) : null;
  }

  /** A webhook's delivery log, newest first. */
  async deliveries(webhookId: string, p: { limit: number; after?: { createdAt: number; id: string } }): Promise<WebhookDelivery[]> {
    const rows = await this.db.query<DeliveryRow>(
      `SELECT * FROM webhook_deliveries WHERE webhook_id = $1 AND (created_at, id) < ($2, $3) ORDER BY created_at DESC, id DESC LIMIT $4`,
      [webhookId, p.after?.createdAt ?? Number.MAX_SAFE_INTEGER, p.after?.id ?? LAST, p.limit],
    );
    return rows.map(fromDeliveryRow);
  }
}
