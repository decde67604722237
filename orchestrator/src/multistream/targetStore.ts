import { randomUUID } from 'node:crypto';
import type { Database } from '../db/database.js';
import { isUuid } from '../streams/streamStore.js';

/** Where a stream is restreamed to: an RTMP(S) ingest URL of another platform, stream key included. */
export type MultistreamTarget = {
  id: string;
  ownerId: string;
  name: string;
  /** Secret (holds the platform's stream key): used to push, never shown by the API. */
  url: string;
  disabled: boolean;
  createdAt: number;
};

type Row = { id: string; owner_id: string; name: string; url: string; disabled: boolean; created_at: string | number };
const COLUMNS = 'id, owner_id, name, url, disabled, created_at';
const fromRow = (r: Row): MultistreamTarget => ({ id: r.id, ownerId: r.owner_id, name: r.name, url: r.url, disabled: r.disabled, createdAt: Number(r.created_at) });
const LAST = 'ffffffff-ffff-ffff-ffff-ffffffffffff';

/** Multistream targets in PostgreSQL, per owner. */
export class TargetStore {
  constructor(private readonly db: Database) {}

  async create(ownerId: string, f: { name: string; url: string; disabled?: boolean }): Promise<MultistreamTarget> {
    const rows = await this.db.query<Row>(
      `INSERT INTO multistream_targets (id, owner_id, name, url, disabled, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${COLUMNS}`,
      [randomUUID(), ownerId, f.name, f.url, f.disabled ?? false, Date.now()],
    );
    return fromRow(rows[0]!);
  }

  /** An owner's target; without `ownerId`, any live one (the pusher's view). */
  async get(id: string, ownerId?: string): Promise<MultistreamTarget | null> {
    if (!isUuid(id)) return null;
    const rows = ownerId
      ? await this.db.query<Row>(`SELECT ${COLUMNS} FROM multistream_targets WHERE id = $1 AND owner_id = $2 AND deleted_at IS NULL`, [id, ownerId])
      : await this.db.query<Row>(`SELECT ${COLUMNS} FROM multistream_targets WHERE id = $1 AND deleted_at IS NULL`, [id]);
    return rows[0] ? fromRow(rows[0]) : null;
  }

  async list(ownerId: string, p: { limit: number; after?: { createdAt: number; id: string } }): Promise<MultistreamTarget[]> {
    const rows = await this.db.query<Row>(
      `SELECT ${COLUMNS} FROM multistream_targets WHERE owner_id = $1 AND deleted_at IS NULL AND (created_at, id) < ($2, $3) ORDER BY created_at DESC, id DESC LIMIT $4`,
      [ownerId, p.after?.createdAt ?? Number.MAX_SAFE_INTEGER, p.after?.id ?? LAST, p.limit],
    );
    return rows.map(fromRow);
  }

  /** Studio's PATCH (url required, name and disabled optional); null when there is no such target. */
  async update(ownerId: string, id: string, f: { name?: string; url: string; disabled?: boolean }): Promise<MultistreamTarget | null> {
    if (!isUuid(id)) return null;
    const rows = await this.db.query<Row>(
      `UPDATE multistream_targets SET url = $3, name = coalesce($4, name), disabled = coalesce($5, disabled)
       WHERE id = $1 AND owner_id = $2 AND deleted_at IS NULL RETURNING ${COLUMNS}`,
      [id, ownerId, f.url, f.name ?? null, f.disabled ?? null],
    );
    return rows[0] ? fromRow(rows[0]) : null;
  }

  async delete(ownerId: string, id: string): Promise<boolean> {
    if (!isUuid(id)) return false;
    const rows = await this.db.query(`UPDATE multistream_targets SET deleted_at = $3 WHERE id = $1 AND owner_id = $2 AND deleted_at IS NULL RETURNING id`, [id, ownerId, Date.now()]);
    return rows.length > 0;
  }
}
