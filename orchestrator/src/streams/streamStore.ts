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
  /** Account the stream belongs to (null: made outside the API, e.g. by the demo or a bench). */
  ownerId: string | null;
  playbackPolicy: PlaybackPolicy;
  lastTerminatedAt: number | null;
  /** The API key the stream was created with (usage per key). */
  createdByKey: string | null;
  /** Highest ask (wei per pixel, decimal) its segments may be auctioned at; null: the orchestrator's. */
  maxPricePerPixel: string | null;
  /** Where the stream is restreamed while live (Studio's `multistream.targets`). */
  multistream: { targets: MultistreamRef[] };
  /** Where the stream is pulled from instead of being pushed to (Studio's `pull`); null: a push stream. */
  pull: StreamPull | null;
  /** Viewers' players share its segments peer to peer (each checked against the signed hashes). */
  p2p: boolean;
} & StreamCounters;

/** An RTMP or HLS source a stream ingests from, and the headers its HTTP requests carry. */
export type StreamPull = { source: string; headers?: Record<string, string> };

/** A target on a stream: which rendition (`source` or a profile name) goes to which target. */
export type MultistreamRef = { id: string; profile: string; videoOnly: boolean };

/**
 * Who may play: anyone with the playback id (`public`), holders of a JWT signed by one of the
 * owner's signing keys (`jwt`), or wallets holding at least `minBalance` of an ERC-20 / ERC-721
 * on the configured chain, proven by Sign-In with Ethereum (`token`, Segmint's addition).
 */
export type PlaybackPolicy =
  | { type: 'public' | 'jwt' }
  | { type: 'token'; token: { standard: 'erc20' | 'erc721'; contract: string; minBalance: string } };

/** Studio's stream counters, summed over every published segment (all sessions). */
export type StreamCounters = {
  sourceSegments: number;
  transcodedSegments: number;
  sourceSegmentsDuration: number;
  transcodedSegmentsDuration: number;
  sourceBytes: number;
  transcodedBytes: number;
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
  owner_id: string | null;
  playback_policy: PlaybackPolicy | string;
  last_terminated_at: string | number | null;
  created_by_key: string | null;
  max_price_per_pixel: string | null;
  multistream: Stream['multistream'] | string;
  pull: StreamPull | string | null;
  p2p: boolean;
  source_segments: string | number;
  transcoded_segments: string | number;
  source_segments_duration: string | number;
  transcoded_segments_duration: string | number;
  source_bytes: string | number;
  transcoded_bytes: string | number;
};

const json = <T>(v: T | string): T => (typeof v === 'string' ? (JSON.parse(v) as T) : v);
const numOrNull = (v: string | number | null) => (v === null ? null : Number(v));

const fromRow = (r: Row): Stream => ({
  id: r.id,
  name: r.name,
  streamKey: r.stream_key,
  playbackId: r.playback_id,
  profiles: json(r.profiles),
  record: r.record,
  suspended: r.suspended,
  isActive: r.is_active,
  lastSeen: numOrNull(r.last_seen),
  createdAt: Number(r.created_at),
  ownerId: r.owner_id,
  playbackPolicy: json(r.playback_policy),
  lastTerminatedAt: numOrNull(r.last_terminated_at),
  createdByKey: r.created_by_key,
  maxPricePerPixel: r.max_price_per_pixel,
  multistream: json(r.multistream),
  pull: r.pull === null ? null : json(r.pull),
  p2p: r.p2p,
  sourceSegments: Number(r.source_segments),
  transcodedSegments: Number(r.transcoded_segments),
  sourceSegmentsDuration: Number(r.source_segments_duration),
  transcodedSegmentsDuration: Number(r.transcoded_segments_duration),
  sourceBytes: Number(r.source_bytes),
  transcodedBytes: Number(r.transcoded_bytes),
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

const COLUMNS =
  'id, name, stream_key, playback_id, profiles, record, suspended, is_active, last_seen, created_at, owner_id, playback_policy, last_terminated_at, created_by_key, max_price_per_pixel, multistream, pull, p2p, ' +
  'source_segments, transcoded_segments, source_segments_duration, transcoded_segments_duration, source_bytes, transcoded_bytes';

/** Filters of a stream list (Studio's `filters` query parameter, decoded). */
export type StreamFilters = { name?: string; isActive?: boolean; record?: boolean; suspended?: boolean; playbackId?: string; id?: string };

/** Fields a PATCH may change. */
export type StreamUpdate = Partial<Pick<Stream, 'name' | 'profiles' | 'record' | 'suspended' | 'playbackPolicy' | 'maxPricePerPixel' | 'multistream' | 'pull' | 'p2p'>>;

const UPDATE_COLUMNS: Record<keyof StreamUpdate, string> = {
  name: 'name', profiles: 'profiles', record: 'record', suspended: 'suspended', playbackPolicy: 'playback_policy',
  maxPricePerPixel: 'max_price_per_pixel', multistream: 'multistream', pull: 'pull', p2p: 'p2p',
};

/** Durable stream records in PostgreSQL. Live state (segments, playlists) is in Redis. */
export class StreamStore {
  constructor(private readonly db: Database) {}

  async create(p: {
    name: string;
    profiles: RenditionProfile[];
    record?: boolean;
    ownerId?: string;
    playbackPolicy?: PlaybackPolicy;
    createdByKey?: string;
    maxPricePerPixel?: string | null;
    multistream?: Stream['multistream'];
    pull?: StreamPull | null;
    p2p?: boolean;
  }): Promise<Stream> {
    const rows = await this.db.query<Row>(
      `INSERT INTO streams (id, name, stream_key, playback_id, profiles, record, created_at, owner_id, playback_policy, created_by_key, max_price_per_pixel, multistream, pull, p2p)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING ${COLUMNS}`,
      [
        randomUUID(), p.name, newStreamKey(), newPlaybackId(), JSON.stringify(p.profiles), p.record ?? false, Date.now(),
        p.ownerId ?? null, JSON.stringify(p.playbackPolicy ?? { type: 'public' }), p.createdByKey ?? null, p.maxPricePerPixel ?? null,
        JSON.stringify(p.multistream ?? { targets: [] }), p.pull ? JSON.stringify(p.pull) : null,
        p.p2p ?? true,
      ],
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

  /** One owner's stream (null when absent, deleted or another owner's). */
  async getOwned(ownerId: string, id: string): Promise<Stream | null> {
    if (!isUuid(id)) return null;
    const rows = await this.db.query<Row>(`SELECT ${COLUMNS} FROM streams WHERE id = $1 AND owner_id = $2 AND deleted_at IS NULL`, [id, ownerId]);
    return rows[0] ? fromRow(rows[0]) : null;
  }

  /** One owner's streams, newest first by (createdAt, id), after `after`, filtered. */
  async query(ownerId: string, p: { limit: number; after?: { createdAt: number; id: string }; filters?: StreamFilters }): Promise<Stream[]> {
    const { where, params } = this.whereOf(ownerId, p.filters ?? {});
    params.push(p.after?.createdAt ?? Number.MAX_SAFE_INTEGER, p.after?.id ?? 'ffffffff-ffff-ffff-ffff-ffffffffffff', p.limit);
    const n = params.length;
    const rows = await this.db.query<Row>(
      `SELECT ${COLUMNS} FROM streams WHERE ${where} AND (created_at, id) < ($${n - 2}, $${n - 1}) ORDER BY created_at DESC, id DESC LIMIT $${n}`,
      params,
    );
    return rows.map(fromRow);
  }

  /** How many of an owner's streams match the filters (Studio's `count=1`). */
  async count(ownerId: string, filters: StreamFilters = {}): Promise<number> {
    const { where, params } = this.whereOf(ownerId, filters);
    const rows = await this.db.query<{ n: string | number }>(`SELECT count(*) AS n FROM streams WHERE ${where}`, params);
    return Number(rows[0]?.n ?? 0);
  }

  private whereOf(ownerId: string, f: StreamFilters): { where: string; params: unknown[] } {
    const params: unknown[] = [ownerId];
    const clauses = ['owner_id = $1', 'deleted_at IS NULL'];
    const add = (sql: (i: number) => string, v: unknown) => {
      params.push(v);
      clauses.push(sql(params.length));
    };
    if (f.name !== undefined) add((i) => `position(lower($${i}) in lower(name)) > 0`, f.name);
    if (f.isActive !== undefined) add((i) => `is_active = $${i}`, f.isActive);
    if (f.record !== undefined) add((i) => `record = $${i}`, f.record);
    if (f.suspended !== undefined) add((i) => `suspended = $${i}`, f.suspended);
    if (f.playbackId !== undefined) add((i) => `playback_id = $${i}`, f.playbackId);
    if (f.id !== undefined) add((i) => `id::text = $${i}`, f.id);
    return { where: clauses.join(' AND '), params };
  }

  /** Changes an owner's stream; null when there is no such stream. */
  async update(ownerId: string, id: string, u: StreamUpdate): Promise<Stream | null> {
    if (!isUuid(id)) return null;
    const sets: string[] = [];
    const params: unknown[] = [id, ownerId];
    for (const [field, column] of Object.entries(UPDATE_COLUMNS) as [keyof StreamUpdate, string][]) {
      const v = u[field];
      if (v === undefined) continue;
      params.push(v !== null && typeof v === 'object' ? JSON.stringify(v) : v);
      sets.push(`${column} = $${params.length}`);
    }
    if (sets.length === 0) return this.getOwned(ownerId, id);
    const rows = await this.db.query<Row>(
      `UPDATE streams SET ${sets.join(', ')} WHERE id = $1 AND owner_id = $2 AND deleted_at IS NULL RETURNING ${COLUMNS}`,
      params,
    );
    return rows[0] ? fromRow(rows[0]) : null;
  }

  /** Soft-deletes an owner's stream: its keys stop working at once. False when there is none. */
  async delete(ownerId: string, id: string): Promise<boolean> {
    if (!isUuid(id)) return false;
    const rows = await this.db.query(`UPDATE streams SET deleted_at = $3 WHERE id = $1 AND owner_id = $2 AND deleted_at IS NULL RETURNING id`, [id, ownerId, Date.now()]);
    return rows.length > 0;
  }

  async markTerminated(id: string, at: number): Promise<void> {
    await this.db.query(`UPDATE streams SET last_terminated_at = $2 WHERE id = $1`, [id, at]);
  }

  /** Adds published segments to the stream's counters (and refreshes lastSeen). */
  async addCounters(id: string, c: StreamCounters, lastSeen: number): Promise<void> {
    await this.db.query(
      `UPDATE streams SET source_segments = source_segments + $2, transcoded_segments = transcoded_segments + $3,
         source_segments_duration = source_segments_duration + $4, transcoded_segments_duration = transcoded_segments_duration + $5,
         source_bytes = source_bytes + $6, transcoded_bytes = transcoded_bytes + $7, last_seen = GREATEST(coalesce(last_seen, 0), $8)
       WHERE id = $1`,
      [id, c.sourceSegments, c.transcodedSegments, c.sourceSegmentsDuration, c.transcodedSegmentsDuration, c.sourceBytes, c.transcodedBytes, lastSeen],
    );
  }
}

export const isUuid = (s: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s);
