import { SOURCE_RENDITION } from '@segmint/protocol';
import type { Database } from '../db/database.js';
import type { PublishedRecord } from '../live/liveState.js';
import type { Stream } from '../streams/streamStore.js';

const HOUR = 3_600_000;

/** Usage of published segments, summed. */
export type UsageTotals = {
  segments: number;
  /** Seconds of source video transcoded. */
  transcodedSeconds: number;
  sourceSeconds: number;
  /** Output pixels: width × height × fps × seconds, over every rendition. */
  pixels: number;
};

export type UsageRow = UsageTotals & { id: string };

/** Usage per segment records, bucketed by the hour of ingest. */
export function usageOf(records: PublishedRecord[]): Map<number, UsageTotals> {
  const out = new Map<number, UsageTotals>();
  for (const { entry } of records) {
    const hour = Math.floor(entry.ingestedAt / HOUR) * HOUR;
    let u = out.get(hour);
    if (!u) out.set(hour, (u = { segments: 0, transcodedSeconds: 0, sourceSeconds: 0, pixels: 0 }));
    u.segments += 1;
    u.sourceSeconds += entry.durationSec;
    const outputs = Object.entries(entry.renditions).filter(([name]) => name !== SOURCE_RENDITION);
    if (outputs.length > 0) u.transcodedSeconds += entry.durationSec;
    for (const [, r] of outputs) u.pixels += Math.round(r.width * r.height * r.fps * r.durationSec);
  }
  return out;
}

type SumRow = { id: string | null; segments: string | number; transcoded_seconds: string | number; source_seconds: string | number; pixels: string | number };
const toRow = (r: SumRow): UsageRow => ({
  id: r.id ?? '',
  segments: Number(r.segments),
  transcodedSeconds: Number(r.transcoded_seconds),
  sourceSeconds: Number(r.source_seconds),
  pixels: Number(r.pixels),
});

/** Hourly usage per stream in PostgreSQL (`GET /api/data/usage` reads it). */
export class UsageStore {
  constructor(private readonly db: Database) {}

  async add(stream: Stream, records: PublishedRecord[]): Promise<void> {
    for (const [hour, u] of usageOf(records)) {
      await this.db.query(
        `INSERT INTO usage_hourly (stream_id, owner_id, api_key_id, hour, segments, source_seconds, transcoded_seconds, pixels)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (stream_id, hour) DO UPDATE SET segments = usage_hourly.segments + $5, source_seconds = usage_hourly.source_seconds + $6,
           transcoded_seconds = usage_hourly.transcoded_seconds + $7, pixels = usage_hourly.pixels + $8`,
        [stream.id, stream.ownerId, stream.createdByKey, hour, u.segments, u.sourceSeconds, u.transcodedSeconds, u.pixels],
      );
    }
  }

  /** An owner's usage in [from, to) (hour precision), per stream and per API key. */
  async query(ownerId: string, from: number, to: number): Promise<{ total: UsageTotals; streams: UsageRow[]; keys: UsageRow[] }> {
    const sums = 'sum(segments) AS segments, sum(transcoded_seconds) AS transcoded_seconds, sum(source_seconds) AS source_seconds, sum(pixels) AS pixels';
    const where = 'owner_id = $1 AND hour >= $2 AND hour < $3';
    const params = [ownerId, Math.floor(from / HOUR) * HOUR, to];
    const [streams, keys] = await Promise.all([
      this.db.query<SumRow>(`SELECT stream_id::text AS id, ${sums} FROM usage_hourly WHERE ${where} GROUP BY stream_id ORDER BY 3 DESC`, params),
      this.db.query<SumRow>(`SELECT api_key_id::text AS id, ${sums} FROM usage_hourly WHERE ${where} GROUP BY api_key_id ORDER BY 3 DESC`, params),
    ]);
    const s = streams.map(toRow);
    const total = s.reduce(
      (t, r) => ({ segments: t.segments + r.segments, transcodedSeconds: t.transcodedSeconds + r.transcodedSeconds, sourceSeconds: t.sourceSeconds + r.sourceSeconds, pixels: t.pixels + r.pixels }),
      { segments: 0, transcodedSeconds: 0, sourceSeconds: 0, pixels: 0 },
    );
    return { total, streams: s, keys: keys.map(toRow).filter((k) => k.id !== '') };
  }

  /** Seconds of video an owner keeps stored now: ready assets and recorded sessions. */
  async storedSeconds(ownerId: string): Promise<number> {
    const rows = await this.db.query<{ s: string | number | null }>(
      `SELECT (SELECT coalesce(sum(duration_sec), 0) FROM assets WHERE owner_id = $1 AND deleted_at IS NULL AND phase = 'ready')
            + (SELECT coalesce(sum(source_segments_duration), 0) FROM sessions WHERE owner_id = $1 AND record) AS s`,
      [ownerId],
    );
    return Number(rows[0]?.s ?? 0);
  }
}
