import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Database } from '../db/database.js';

export type ApiKey = { id: string; name: string; createdAt: number };

const hash = (token: string) => createHash('sha256').update(token).digest('hex');

/**
 * API keys: the secret is shown once at creation and only its sha256 is stored. Lookups of a
 * valid key are cached briefly so the API does not hit the database on every request.
 */
export class ApiKeyStore {
  private readonly cache = new Map<string, { key: ApiKey; until: number }>();
  constructor(private readonly db: Database, private readonly cacheMs = 10_000) {}

  async create(name: string): Promise<{ key: ApiKey; token: string }> {
    const token = `sm_${randomBytes(24).toString('base64url')}`;
    const key = { id: randomUUID(), name, createdAt: Date.now() };
    await this.db.query(`INSERT INTO api_keys (id, name, key_hash, created_at) VALUES ($1, $2, $3, $4)`, [
      key.id, key.name, hash(token), key.createdAt,
    ]);
    return { key, token };
  }

  /** The key a bearer token belongs to, or null when unknown or revoked. */
  async verify(token: string): Promise<ApiKey | null> {
    if (!token || token.length > 200) return null;
    const h = hash(token);
    const hit = this.cache.get(h);
    if (hit && hit.until > Date.now()) return hit.key;
    const rows = await this.db.query<{ id: string; name: string; created_at: string }>(
      `SELECT id, name, created_at FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL`,
      [h],
    );
    const row = rows[0];
    if (!row) return null;
    const key = { id: row.id, name: row.name, createdAt: Number(row.created_at) };
    this.cache.set(h, { key, until: Date.now() + this.cacheMs });
    return key;
  }
}
