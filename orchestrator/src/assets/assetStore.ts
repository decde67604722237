import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { RenditionProfile } from '@segmint/protocol';
import type { Database } from '../db/database.js';
import type { SegmentEntry } from '../live/liveState.js';
import { isUuid } from '../streams/streamStore.js';

/** uploading: a resumable (tus) upload is under way; its bytes arrive over several requests. */
export type AssetPhase = 'waiting' | 'uploading' | 'processing' | 'ready' | 'failed';

/** One transcoded segment of an asset, as its VOD playlists need it. */
export type AssetSegment = { seq: number; durationSec: number; renditions: SegmentEntry['renditions'] };

/** A clip: a time range (unix ms) of a recorded session, live or ended, cut into a new asset. */
export type ClipSource = { type: 'clip'; playbackId: string; streamId: string; sessionId: string; startTime: number; endTime: number };

/**
 * A transcode job (Studio's `POST /api/transcode`): the input (a URL, or an object in the caller's
 * S3 bucket) is transcoded like an asset, then its HLS and MP4 outputs are written to the caller's
 * bucket. `delivered` once written; `deliverError` when that failed. Not listed among assets.
 */
export type TranscodeSource = {
  type: 'transcode';
  input: { url: string } | { endpoint: string; bucket: string; path: string; credentials: { accessKeyId: string; secretAccessKey: string } };
  storage: { endpoint: string; bucket: string; credentials: { accessKeyId: string; secretAccessKey: string } };
  outputs: { hls?: { path: string }; mp4?: { path: string } };
  delivered?: boolean;
  deliverError?: string;
};

export type Asset = {
  id: string;
  ownerId: string;
  name: string;
  playbackId: string;
  profiles: RenditionProfile[];
  source: { type: 'directUpload' } | { type: 'url'; url: string } | ClipSource | TranscodeSource;
  phase: AssetPhase;
  progress: number;
  errorMessage: string | null;
  sizeBytes: number | null;
  durationSec: number | null;
  /** The internal stream its segments are transcoded through. */
  streamId: string | null;
  segments: AssetSegment[];
  createdAt: number;
  updatedAt: number;
};

type Row = {
  id: string; owner_id: string; name: string; playback_id: string; profiles: RenditionProfile[] | string; source: Asset['source'] | string;
  phase: AssetPhase; progress: number; error_message: string | null; size_bytes: string | number | null; duration_sec: number | null;
  stream_id: string | null; segments: AssetSegment[] | string; created_at: string | number; updated_at: string | number;
};
const COLUMNS = 'id, owner_id, name, playback_id, profiles, source, phase, progress, error_message, size_bytes, duration_sec, stream_id, segments, created_at, updated_at';
const json = <T>(v: T | string): T => (typeof v === 'string' ? (JSON.parse(v) as T) : v);
const fromRow = (r: Row): Asset => ({
  id: r.id, ownerId: r.owner_id, name: r.name, playbackId: r.playback_id, profiles: json(r.profiles), source: json(r.source), phase: r.phase,
  progress: Number(r.progress), errorMessage: r.error_message, sizeBytes: r.size_bytes === null ? null : Number(r.size_bytes),
  durationSec: r.duration_sec === null ? null : Number(r.duration_sec), streamId: r.stream_id, segments: json(r.segments),
  createdAt: Number(r.created_at), updatedAt: Number(r.updated_at),
});
const hash = (t: string) => createHash('sha256').update(t).digest('hex');
const LAST = 'ffffffff-ffff-ffff-ffff-ffffffffffff';

/** Assets (VOD) in PostgreSQL. The upload token is shown once (in the upload URL), stored hashed. */
export class AssetStore {
  constructor(private readonly db: Database) {}

  async create(ownerId: string, p: { name: string; profiles: RenditionProfile[]; source: Asset['source'] }): Promise<{ asset: Asset; uploadToken: string }> {
    const uploadToken = randomBytes(24).toString('base64url');
    const now = Date.now();
    const rows = await this.db.query<Row>(
      `INSERT INTO assets (id, owner_id, name, playback_id, profiles, source, phase, progress, upload_token_hash, segments, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, 'waiting', 0, $7, '[]', $8, $8) RETURNING ${COLUMNS}`,
      [randomUUID(), ownerId, p.name, randomBytes(8).toString('hex'), JSON.stringify(p.profiles), JSON.stringify(p.source), hash(uploadToken), now],
    );
    return { asset: fromRow(rows[0]!), uploadToken };
  }

  async get(id: string, ownerId?: string): Promise<Asset | null> {
    if (!isUuid(id)) return null;
    const rows = ownerId
      ? await this.db.query<Row>(`SELECT ${COLUMNS} FROM assets WHERE id = $1 AND owner_id = $2 AND deleted_at IS NULL`, [id, ownerId])
      : await this.db.query<Row>(`SELECT ${COLUMNS} FROM assets WHERE id = $1 AND deleted_at IS NULL`, [id]);
    return rows[0] ? fromRow(rows[0]) : null;
  }

  async getByPlaybackId(playbackId: string): Promise<Asset | null> {
    if (playbackId.length > 64) return null;
    const rows = await this.db.query<Row>(`SELECT ${COLUMNS} FROM assets WHERE playback_id = $1 AND deleted_at IS NULL`, [playbackId]);
    return rows[0] ? fromRow(rows[0]) : null;
  }

  /** The id of the asset a direct-upload token belongs to (the token stays valid: see claimUpload). */
  async assetIdForUpload(token: string): Promise<string | null> {
    if (!token || token.length > 100) return null;
    const rows = await this.db.query<{ id: string }>(`SELECT id FROM assets WHERE upload_token_hash = $1 AND deleted_at IS NULL AND phase = 'waiting'`, [hash(token)]);
    return rows[0]?.id ?? null;
  }

  /** Every asset being processed (any owner): what AssetRunner's sweep looks at. */
  async listProcessing(): Promise<Asset[]> {
    const rows = await this.db.query<Row>(`SELECT ${COLUMNS} FROM assets WHERE phase = 'processing' AND deleted_at IS NULL ORDER BY updated_at LIMIT 1000`);
    return rows.map(fromRow);
  }

  /**
   * Takes the asset a direct-upload token belongs to, once: the token stops working. The asset
   * moves to `phase`: processing (a direct PUT) or uploading (a tus upload, resumable).
   */
  async claimUpload(token: string, phase: 'processing' | 'uploading' = 'processing'): Promise<Asset | null> {
    if (!token || token.length > 100) return null;
    const rows = await this.db.query<Row>(
      `UPDATE assets SET upload_token_hash = NULL, phase = $3, updated_at = $2 WHERE upload_token_hash = $1 AND deleted_at IS NULL AND phase = 'waiting' RETURNING ${COLUMNS}`,
      [hash(token), Date.now(), phase],
    );
    return rows[0] ? fromRow(rows[0]) : null;
  }

  /** An owner's assets, newest first; transcode jobs only with `withTranscodes` (the task list). */
  async list(ownerId: string, p: { limit: number; after?: { createdAt: number; id: string }; withTranscodes?: boolean }): Promise<Asset[]> {
    const rows = await this.db.query<Row>(
      `SELECT ${COLUMNS} FROM assets WHERE owner_id = $1 AND deleted_at IS NULL AND (created_at, id) < ($2, $3) AND ($5 OR source->>'type' <> 'transcode')
       ORDER BY created_at DESC, id DESC LIMIT $4`,
      [ownerId, p.after?.createdAt ?? Number.MAX_SAFE_INTEGER, p.after?.id ?? LAST, p.limit, p.withTranscodes ?? false],
    );
    return rows.map(fromRow);
  }

  /** Replaces an asset's source record (a transcode's delivery state). */
  async setSource(id: string, source: Asset['source']): Promise<void> {
    await this.db.query(`UPDATE assets SET source = $2, updated_at = $3 WHERE id = $1`, [id, JSON.stringify(source), Date.now()]);
  }

  /** An owner's clips of one stream or one session, newest first. */
  async clips(ownerId: string, of: { streamId: string } | { sessionId: string }, p: { limit: number; after?: { createdAt: number; id: string } }): Promise<Asset[]> {
    const [field, value] = 'streamId' in of ? ['streamId', of.streamId] : ['sessionId', of.sessionId];
    const rows = await this.db.query<Row>(
      `SELECT ${COLUMNS} FROM assets WHERE owner_id = $1 AND deleted_at IS NULL AND source->>'type' = 'clip' AND source->>'${field}' = $5
         AND (created_at, id) < ($2, $3) ORDER BY created_at DESC, id DESC LIMIT $4`,
      [ownerId, p.after?.createdAt ?? Number.MAX_SAFE_INTEGER, p.after?.id ?? LAST, p.limit, value],
    );
    return rows.map(fromRow);
  }

  async rename(ownerId: string, id: string, name: string): Promise<Asset | null> {
    if (!isUuid(id)) return null;
    const rows = await this.db.query<Row>(`UPDATE assets SET name = $3, updated_at = $4 WHERE id = $1 AND owner_id = $2 AND deleted_at IS NULL RETURNING ${COLUMNS}`, [id, ownerId, name, Date.now()]);
    return rows[0] ? fromRow(rows[0]) : null;
  }

  async delete(ownerId: string, id: string): Promise<Asset | null> {
    if (!isUuid(id)) return null;
    const rows = await this.db.query<Row>(`UPDATE assets SET deleted_at = $3, upload_token_hash = NULL WHERE id = $1 AND owner_id = $2 AND deleted_at IS NULL RETURNING ${COLUMNS}`, [id, ownerId, Date.now()]);
    return rows[0] ? fromRow(rows[0]) : null;
  }

  /** Records processing state (only fields given change). */
  async update(id: string, u: Partial<Pick<Asset, 'phase' | 'progress' | 'errorMessage' | 'sizeBytes' | 'durationSec' | 'streamId' | 'segments'>>): Promise<void> {
    await this.db.query(
      `UPDATE assets SET phase = coalesce($2, phase), progress = coalesce($3, progress), error_message = coalesce($4, error_message),
         size_bytes = coalesce($5, size_bytes), duration_sec = coalesce($6, duration_sec), stream_id = coalesce($7, stream_id),
         segments = coalesce($8::jsonb, segments), updated_at = $9 WHERE id = $1`,
      [id, u.phase ?? null, u.progress ?? null, u.errorMessage ?? null, u.sizeBytes ?? null, u.durationSec ?? null, u.streamId ?? null,
        u.segments ? JSON.stringify(u.segments) : null, Date.now()],
    );
  }
}
