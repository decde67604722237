import { randomBytes, randomUUID } from 'node:crypto';
import type { RenditionProfile } from '@segmint/protocol';
import type { Database } from '../db/database.js';

/** A stream as stored (Livepeer Studio's field names). */
export type Stream = {
  id: string;
  name: string;
  streamKey: string;
  playbackId: string;
  profiles: RenditionProfile[];
  record: boolean;
  suspended: boolean;
  isActive: boolean;
  lastSeen: number | null;
  createdAt: number;
};

type Row = {
  id: string;
  name: string;
  stream_key: string;
  playback_id: string;
  profiles: RenditionProfile[] | string;
  record: boolean;
  suspended: boolean;
  is_active: boolean;
  last_seen: string | number | null;
  created_at: string | number;
};

const fromRow = (r: Row): Stream => ({
  id: r.id,
  name: r.name,
  streamKey: r.stream_key,
  playbackId: r.playback_id,
  profiles: typeof r.profiles === 'string' ? JSON.parse(r.profiles) : r.profiles,
  record: r.record,
  suspended: r.suspended,
  isActive: r.is_active,
  lastSeen: r.last_seen === null ? null : Number(r.last_seen),
  createdAt: Number(r.created_at),
});

/** Stream key like Studio's: four groups of four lowercase alphanumerics. */
function newStreamKey(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(16);
  const chars = [...bytes].map((b) => alphabet[b % alphabet.length]);
  return [0, 4, 8, 12].map((i) => chars.slice(i, i + 4).join('')).join('-');
}

/** Playback id: 16 hex characters, unguessable, safe in URLs. */
const newPlaybackId = () => randomBytes(8).toString('hex');

const COLUMNS = 'id, name, stream_key, playback_id, profiles, record, suspended, is_active, last_seen, created_at';

/** Durable stream records in PostgreSQL. Live state (segments, playlists) is in Redis. */
export class StreamStore {
  constructor(private readonly db: Database) {}

  async create(p: { name: string; profiles: RenditionProfile[]; record?: boolean }): Promise<Stream> {
    const rows = await this.db.query<Row>(
      `INSERT INTO streams (id, name, stream_key, playback_id, profiles, record, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${COLUMNS}`,
      [randomUUID(), p.name, newStreamKey(), newPlaybackId(), JSON.stringify(p.profiles), p.record ?? false, Date.now()],
    );
    return fromRow(rows[0]!);
  }

  async get(id: string): Promise<Stream | null> {
    if (!isUuid(id)) return null;
    const rows = await this.db.query<Row>(`SELECT ${COLUMNS} FROM streams WHERE id = $1 AND deleted_at IS NULL`, [id]);
    return rows[0] ? fromRow(rows[0]) : null;
  }

  async getByStreamKey(streamKey: string): Promise<Stream | null> {
    const rows = await this.db.query<Row>(`SELECT ${COLUMNS} FROM streams WHERE stream_key = $1 AND deleted_at IS NULL`, [streamKey]);
    return rows[0] ? fromRow(rows[0]) : null;
  }

  async getByPlaybackId(playbackId: string): Promise<Stream | null> {
    const rows = await this.db.query<Row>(`SELECT ${COLUMNS} FROM streams WHERE playback_id = $1 AND deleted_at IS NULL`, [playbackId]);
    return rows[0] ? fromRow(rows[0]) : null;
  }

  /** Newest first; `cursor` is the createdAt of the last item of the previous page. */
  async list(p: { limit: number; cursor?: number }): Promise<Stream[]> {
    const rows = await this.db.query<Row>(
      `SELECT ${COLUMNS} FROM streams WHERE deleted_at IS NULL AND created_at < $1 ORDER BY created_at DESC, id LIMIT $2`,
      [p.cursor ?? Number.MAX_SAFE_INTEGER, p.limit],
    );
    return rows.map(fromRow);
  }

  async setActive(id: string, isActive: boolean, lastSeen: number): Promise<void> {
    await this.db.query(`UPDATE streams SET is_active = $2, last_seen = $3 WHERE id = $1`, [id, isActive, lastSeen]);
  }
}

export const isUuid = (s: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s);
