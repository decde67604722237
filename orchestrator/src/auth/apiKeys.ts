import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Database } from '../db/database.js';
import type { RateLimiter } from './rateLimiter.js';

/**
 * An API key as the API shows it (never with its secret). `ownerId` is the account the key acts
 * for: every stream, session and webhook belongs to one owner, and a key sees only its owner's.
 */
export type ApiKey = {
  id: string;
  name: string;
  ownerId: string;
  createdAt: number;
  lastUsedAt: number | null;
  /** Browser origins this key may be used from; empty: any (server-side use). */
  allowedCORSOrigins: string[];
};

const hash = (token: string) => createHash('sha256').update(token).digest('hex');

type Row = { id: string; name: string; owner_id: string; created_at: string | number; last_used_at: string | number | null; cors_origins: string[] | string };
const COLUMNS = 'id, name, owner_id, created_at, last_used_at, cors_origins';
const fromRow = (r: Row): ApiKey => ({
  id: r.id,
  name: r.name,
  ownerId: r.owner_id,
  createdAt: Number(r.created_at),
  lastUsedAt: r.last_used_at === null ? null : Number(r.last_used_at),
  allowedCORSOrigins: typeof r.cors_origins === 'string' ? JSON.parse(r.cors_origins) : r.cors_origins,
});

export type CreateApiKeyParameters = {
  name: string;
  /** The owner the key acts for; absent: a new owner (a new account). */
  ownerId?: string;
  allowedCORSOrigins?: string[];
};

/**
 * API keys: the secret is shown once at creation and only its sha256 is stored. Lookups of a
 * valid key are cached briefly so the API does not hit the database on every request; a revoke
 * clears this process's cache at once (other processes within `cacheMs`).
 */
export class ApiKeyStore {
  private readonly cache = new Map<string, { key: ApiKey; until: number }>();
  /** Counts each authenticated API request (set by the integrator API; none: unlimited). */
  rateLimiter: RateLimiter | null = null;
  constructor(private readonly db: Database, private readonly cacheMs = 10_000) {}

  /** @example const { token } = await keys.create('ci'); // token: "sm_…", shown once */
  async create(p: CreateApiKeyParameters | string): Promise<{ key: ApiKey; token: string }> {
    const params = typeof p === 'string' ? { name: p } : p;
    const token = `sm_${randomBytes(24).toString('base64url')}`;
    const id = randomUUID();
    const rows = await this.db.query<Row>(
      `INSERT INTO api_keys (id, name, key_hash, created_at, owner_id, cors_origins) VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${COLUMNS}`,
      [id, params.name, hash(token), Date.now(), params.ownerId ?? id, JSON.stringify(params.allowedCORSOrigins ?? [])],
    );
    return { key: fromRow(rows[0]!), token };
  }

  /** The key a bearer token belongs to, or null when unknown or revoked. */
  async verify(token: string): Promise<ApiKey | null> {
    if (!token || token.length > 200) return null;
    const h = hash(token);
    const hit = this.cache.get(h);
    if (hit && hit.until > Date.now()) return hit.key;
    const rows = await this.db.query<Row>(`SELECT ${COLUMNS} FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL`, [h]);
    const row = rows[0];
    if (!row) return null;
    const key = fromRow(row);
    const now = Date.now();
    // last use is kept to the cache period's precision: one write per key per period at most
    await this.db.query(`UPDATE api_keys SET last_used_at = $2 WHERE id = $1`, [key.id, now]);
    key.lastUsedAt = now;
    if (this.cacheMs > 0) {
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(h, { key, until: now + this.cacheMs });
    }
    return key;
  }

  async get(ownerId: string, id: string): Promise<ApiKey | null> {
    const rows = await this.db.query<Row>(`SELECT ${COLUMNS} FROM api_keys WHERE id = $1 AND owner_id = $2 AND revoked_at IS NULL`, [id, ownerId]);
    return rows[0] ? fromRow(rows[0]) : null;
  }

  /** The owner's live keys, newest first. */
  async list(ownerId: string, p: { limit: number; after?: { createdAt: number; id: string } }): Promise<ApiKey[]> {
    const rows = await this.db.query<Row>(
      `SELECT ${COLUMNS} FROM api_keys WHERE owner_id = $1 AND revoked_at IS NULL AND (created_at, id) < ($2, $3)
       ORDER BY created_at DESC, id DESC LIMIT $4`,
      [ownerId, p.after?.createdAt ?? Number.MAX_SAFE_INTEGER, p.after?.id ?? 'ffffffff-ffff-ffff-ffff-ffffffffffff', p.limit],
    );
    return rows.map(fromRow);
  }

  /** Revokes a key of this owner; false when there is none. */
  async revoke(ownerId: string, id: string): Promise<boolean> {
    const rows = await this.db.query<{ key_hash: string }>(
      `UPDATE api_keys SET revoked_at = $3 WHERE id = $1 AND owner_id = $2 AND revoked_at IS NULL RETURNING key_hash`,
      [id, ownerId, Date.now()],
    );
    for (const r of rows) this.cache.delete(r.key_hash);
    return rows.length > 0;
  }
}
