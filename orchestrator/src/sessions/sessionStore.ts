import { randomUUID } from 'node:crypto';
import type { RenditionProfile } from '@segmint/protocol';
import type { AssetSegment } from '../assets/assetStore.js';
import type { Database } from '../db/database.js';
import type { Stream, StreamCounters } from '../streams/streamStore.js';
import { isUuid } from '../streams/streamStore.js';
import type { UsageTotals } from '../usage/usageStore.js';

/** One live session of a stream: from its first segment until idle timeout or terminate. */
export type Session = {
  id: string;
  streamId: string;
  ownerId: string | null;
  /** The stream's live session number (Redis), 1, 2, … */
  sessionNumber: number;
  name: string;
  record: boolean;
  profiles: RenditionProfile[];
  createdAt: number;
  lastSeen: number;
  endedAt: number | null;
  /** Segments kept for the recording (record: true), in publish order. */
  recordingSegments: AssetSegment[];
} & StreamCounters;

type Row = {
  id: string; stream_id: string; owner_id: string | null; session_number: number; name: string; record: boolean;
  profiles: RenditionProfile[] | string; created_at: string | number; last_seen: string | number; ended_at: string | number | null;
  source_segments: string | number; transcoded_segments: string | number; source_segments_duration: string | number;
  transcoded_segments_duration: string | number; source_bytes: string | number; transcoded_bytes: string | number;
  recording_segments: AssetSegment[] | string;
};

const COLUMNS =
  'id, stream_id, owner_id, session_number, name, record, profiles, created_at, last_seen, ended_at, source_segments, transcoded_segments, ' +
  'source_segments_duration, transcoded_segments_duration, source_bytes, transcoded_bytes, recording_segments';

const fromRow = (r: Row): Session => ({
  id: r.id,
  streamId: r.stream_id,
  ownerId: r.owner_id,
  sessionNumber: Number(r.session_number),
  name: r.name,
  record: r.record,
  profiles: typeof r.profiles === 'string' ? JSON.parse(r.profiles) : r.profiles,
  createdAt: Number(r.created_at),
  lastSeen: Number(r.last_seen),
  endedAt: r.ended_at === null ? null : Number(r.ended_at),
  sourceSegments: Number(r.source_segments),
  transcodedSegments: Number(r.transcoded_segments),
  sourceSegmentsDuration: Number(r.source_segments_duration),
  transcodedSegmentsDuration: Number(r.transcoded_segments_duration),
  sourceBytes: Number(r.source_bytes),
  transcodedBytes: Number(r.transcoded_bytes),
  recordingSegments: typeof r.recording_segments === 'string' ? JSON.parse(r.recording_segments) : r.recording_segments,
});

const LAST = 'ffffffff-ffff-ffff-ffff-ffffffffffff';

/** Durable session records (PostgreSQL), written from pipeline events. */
export class SessionStore {
  constructor(private readonly db: Database) {}

  /** Records a session's start; a repeat (another orchestrator, a replayed event) is a no-op. */
  async start(stream: Stream, sessionNumber: number, at: number): Promise<Session> {
    await this.db.query(
      `INSERT INTO sessions (id, stream_id, owner_id, session_number, name, record, profiles, created_at, last_seen)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) ON CONFLICT (stream_id, session_number) DO NOTHING`,
      [randomUUID(), stream.id, stream.ownerId, sessionNumber, stream.name, stream.record, JSON.stringify(stream.profiles), at],
    );
    const rows = await this.db.query<Row>(`SELECT ${COLUMNS} FROM sessions WHERE stream_id = $1 AND session_number = $2`, [stream.id, sessionNumber]);
    return fromRow(rows[0]!);
  }

  /** Ends the stream's open sessions; returns those it ended. */
  async end(streamId: string, at: number): Promise<Session[]> {
    const rows = await this.db.query<Row>(`UPDATE sessions SET ended_at = $2 WHERE stream_id = $1 AND ended_at IS NULL RETURNING ${COLUMNS}`, [streamId, at]);
    return rows.map(fromRow);
  }

  async addCounters(streamId: string, sessionNumber: number, c: StreamCounters, lastSeen: number): Promise<void> {
    await this.db.query(
      `UPDATE sessions SET source_segments = source_segments + $3, transcoded_segments = transcoded_segments + $4,
         source_segments_duration = source_segments_duration + $5, transcoded_segments_duration = transcoded_segments_duration + $6,
         source_bytes = source_bytes + $7, transcoded_bytes = transcoded_bytes + $8, last_seen = GREATEST(last_seen, $9)
       WHERE stream_id = $1 AND session_number = $2`,
      [streamId, sessionNumber, c.sourceSegments, c.transcodedSegments, c.sourceSegmentsDuration, c.transcodedSegmentsDuration, c.sourceBytes, c.transcodedBytes, lastSeen],
    );
  }

  /** The session a live session number of a stream is (null when not recorded yet). */
  async byNumber(streamId: string, sessionNumber: number): Promise<Session | null> {
    const rows = await this.db.query<Row>(`SELECT ${COLUMNS} FROM sessions WHERE stream_id = $1 AND session_number = $2`, [streamId, sessionNumber]);
    return rows[0] ? fromRow(rows[0]) : null;
  }

  /** Any session by id (recordings are public by their unguessable session id, like Studio's). */
  async getAny(id: string): Promise<Session | null> {
    if (!isUuid(id)) return null;
    const rows = await this.db.query<Row>(`SELECT ${COLUMNS} FROM sessions WHERE id = $1`, [id]);
    return rows[0] ? fromRow(rows[0]) : null;
  }

  async addRecordingSegments(id: string, segments: AssetSegment[]): Promise<void> {
    await this.db.query(`UPDATE sessions SET recording_segments = recording_segments || $2::jsonb WHERE id = $1`, [id, JSON.stringify(segments)]);
  }

  /** Appends one recorded segment unless its seq is there already (an outbox entry drained twice). */
  async addRecordingSegmentOnce(id: string, segment: AssetSegment): Promise<void> {
    await this.db.query(
      `UPDATE sessions SET recording_segments = recording_segments || $2::jsonb WHERE id = $1 AND NOT recording_segments @> $3::jsonb`,
      [id, JSON.stringify([segment]), JSON.stringify([{ seq: segment.seq }])],
    );
  }

  /** Ends one session (not a newer one of the same stream); returns it when it ended now. */
  async endOne(streamId: string, sessionNumber: number, at: number): Promise<Session | null> {
    const rows = await this.db.query<Row>(
      `UPDATE sessions SET ended_at = $3 WHERE stream_id = $1 AND session_number = $2 AND ended_at IS NULL RETURNING ${COLUMNS}`,
      [streamId, sessionNumber, at],
    );
    return rows[0] ? fromRow(rows[0]) : null;
  }

  /**
   * Adds one published segment's counters to its session and stream and its usage to the hour,
   * once per `key`: one statement (atomic), whose first step records the key, so an outbox entry
   * drained again after a crash counts nothing twice. Returns false when the key was applied before.
   */
  async addPublishedOnce(key: string, stream: Stream, sessionNumber: number, c: StreamCounters, lastSeen: number, hour: number, u: UsageTotals): Promise<boolean> {
    const rows = await this.db.query<{ applied: string | number }>(
      `WITH applied AS (
         INSERT INTO outbox_applied (key, applied_at) VALUES ($1::text, $2::bigint) ON CONFLICT DO NOTHING RETURNING key
       ), s AS (
         UPDATE sessions SET source_segments = source_segments + $5::bigint, transcoded_segments = transcoded_segments + $6::bigint,
           source_segments_duration = source_segments_duration + $7::float8, transcoded_segments_duration = transcoded_segments_duration + $8::float8,
           source_bytes = source_bytes + $9::bigint, transcoded_bytes = transcoded_bytes + $10::bigint, last_seen = GREATEST(last_seen, $11::bigint)
         WHERE stream_id = $3::uuid AND session_number = $4::int AND EXISTS (SELECT 1 FROM applied) RETURNING 1
       ), t AS (
         UPDATE streams SET source_segments = source_segments + $5::bigint, transcoded_segments = transcoded_segments + $6::bigint,
           source_segments_duration = source_segments_duration + $7::float8, transcoded_segments_duration = transcoded_segments_duration + $8::float8,
           source_bytes = source_bytes + $9::bigint, transcoded_bytes = transcoded_bytes + $10::bigint, last_seen = GREATEST(coalesce(last_seen, 0), $11::bigint)
         WHERE id = $3::uuid AND EXISTS (SELECT 1 FROM applied) RETURNING 1
       ), h AS (
         INSERT INTO usage_hourly (stream_id, owner_id, api_key_id, hour, segments, source_seconds, transcoded_seconds, pixels)
         SELECT $3::uuid, $12::uuid, $13::uuid, $14::bigint, $15::bigint, $16::float8, $17::float8, $18::bigint WHERE EXISTS (SELECT 1 FROM applied)
         ON CONFLICT (stream_id, hour) DO UPDATE SET segments = usage_hourly.segments + EXCLUDED.segments,
           source_seconds = usage_hourly.source_seconds + EXCLUDED.source_seconds,
           transcoded_seconds = usage_hourly.transcoded_seconds + EXCLUDED.transcoded_seconds, pixels = usage_hourly.pixels + EXCLUDED.pixels
         RETURNING 1
       )
       SELECT count(*) AS applied FROM applied`,
      [
        key, Date.now(), stream.id, sessionNumber,
        c.sourceSegments, c.transcodedSegments, c.sourceSegmentsDuration, c.transcodedSegmentsDuration, c.sourceBytes, c.transcodedBytes, lastSeen,
        stream.ownerId, stream.createdByKey, hour, u.segments, u.sourceSeconds, u.transcodedSeconds, u.pixels,
      ],
    );
    return Number(rows[0]?.applied ?? 0) > 0;
  }

  /** Forgets applied outbox keys older than `before` (ms): entries are drained within seconds. */
  async forgetAppliedBefore(before: number): Promise<void> {
    await this.db.query(`DELETE FROM outbox_applied WHERE applied_at < $1`, [before]);
  }

  async get(ownerId: string, id: string): Promise<Session | null> {
    if (!isUuid(id)) return null;
    const rows = await this.db.query<Row>(`SELECT ${COLUMNS} FROM sessions WHERE id = $1 AND owner_id = $2`, [id, ownerId]);
    return rows[0] ? fromRow(rows[0]) : null;
  }

  /** An owner's sessions (of one stream when `streamId`), newest first. */
  async list(ownerId: string, p: { limit: number; after?: { createdAt: number; id: string }; streamId?: string; record?: boolean }): Promise<Session[]> {
    const params: unknown[] = [ownerId, p.after?.createdAt ?? Number.MAX_SAFE_INTEGER, p.after?.id ?? LAST, p.limit];
    let where = 'owner_id = $1 AND (created_at, id) < ($2, $3)';
    if (p.streamId !== undefined) {
      params.push(p.streamId);
      where += ` AND stream_id = $${params.length}`;
    }
    if (p.record !== undefined) {
      params.push(p.record);
      where += ` AND record = $${params.length}`;
    }
    const rows = await this.db.query<Row>(`SELECT ${COLUMNS} FROM sessions WHERE ${where} ORDER BY created_at DESC, id DESC LIMIT $4`, params);
    return rows.map(fromRow);
  }
}
