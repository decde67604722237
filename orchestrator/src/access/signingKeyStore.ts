import { generateKeyPairSync, randomUUID } from 'node:crypto';
import type { Database } from '../db/database.js';
import { isUuid } from '../streams/streamStore.js';

/** A playback signing key: the owner signs viewer JWTs with its private key (never stored here). */
export type SigningKey = {
  id: string;
  ownerId: string;
  name: string;
  /** base64 of the PEM SPKI public key (Studio's form; also the JWT `pub` claim). */
  publicKey: string;
  disabled: boolean;
  createdAt: number;
};

type Row = { id: string; owner_id: string; name: string; public_key: string; disabled: boolean; created_at: string | number };
const COLUMNS = 'id, owner_id, name, public_key, disabled, created_at';
const fromRow = (r: Row): SigningKey => ({ id: r.id, ownerId: r.owner_id, name: r.name, publicKey: r.public_key, disabled: r.disabled, createdAt: Number(r.created_at) });
const LAST = 'ffffffff-ffff-ffff-ffff-ffffffffffff';

/** Signing keys in PostgreSQL; a new key's private half is returned once and forgotten. */
export class SigningKeyStore {
  constructor(private readonly db: Database) {}

  /** Makes an ES256 (P-256) key pair; returns the key and its private key (base64 PEM PKCS#8). */
  async create(ownerId: string, name: string): Promise<{ key: SigningKey; privateKey: string }> {
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const publicKey = Buffer.from(pair.publicKey.export({ type: 'spki', format: 'pem' }) as string).toString('base64');
    const privateKey = Buffer.from(pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string).toString('base64');
    const rows = await this.db.query<Row>(
      `INSERT INTO signing_keys (id, owner_id, name, public_key, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING ${COLUMNS}`,
      [randomUUID(), ownerId, name, publicKey, Date.now()],
    );
    return { key: fromRow(rows[0]!), privateKey };
  }

  async get(ownerId: string, id: string): Promise<SigningKey | null> {
    if (!isUuid(id)) return null;
    const rows = await this.db.query<Row>(`SELECT ${COLUMNS} FROM signing_keys WHERE id = $1 AND owner_id = $2 AND deleted_at IS NULL`, [id, ownerId]);
    return rows[0] ? fromRow(rows[0]) : null;
  }

  /** The owner's enabled key with this public key (what a JWT's `pub` claim names). */
  async byPublicKey(ownerId: string, publicKey: string): Promise<SigningKey | null> {
    const rows = await this.db.query<Row>(
      `SELECT ${COLUMNS} FROM signing_keys WHERE owner_id = $1 AND public_key = $2 AND deleted_at IS NULL AND NOT disabled`,
      [ownerId, publicKey],
    );
    return rows[0] ? fromRow(rows[0]) : null;
  }

  async list(ownerId: string, p: { limit: number; after?: { createdAt: number; id: string } }): Promise<SigningKey[]> {
    const rows = await this.db.query<Row>(
      `SELECT ${COLUMNS} FROM signing_keys WHERE owner_id = $1 AND deleted_at IS NULL AND (created_at, id) < ($2, $3) ORDER BY created_at DESC, id DESC LIMIT $4`,
      [ownerId, p.after?.createdAt ?? Number.MAX_SAFE_INTEGER, p.after?.id ?? LAST, p.limit],
    );
    return rows.map(fromRow);
  }

  async update(ownerId: string, id: string, u: { name?: string; disabled?: boolean }): Promise<SigningKey | null> {
    if (!isUuid(id)) return null;
    const rows = await this.db.query<Row>(
      `UPDATE signing_keys SET name = coalesce($3, name), disabled = coalesce($4, disabled) WHERE id = $1 AND owner_id = $2 AND deleted_at IS NULL RETURNING ${COLUMNS}`,
      [id, ownerId, u.name ?? null, u.disabled ?? null],
    );
    return rows[0] ? fromRow(rows[0]) : null;
  }

  async delete(ownerId: string, id: string): Promise<boolean> {
    if (!isUuid(id)) return false;
    const rows = await this.db.query(`UPDATE signing_keys SET deleted_at = $3 WHERE id = $1 AND owner_id = $2 AND deleted_at IS NULL RETURNING id`, [id, ownerId, Date.now()]);
    return rows.length > 0;
  }
}
