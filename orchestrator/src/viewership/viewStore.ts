import { randomUUID } from 'node:crypto';
import type { Database } from '../db/database.js';

/** What a view is about and who watches (the viewer id is a keyed hash: no IP address is kept). */
export type NewView = {
  ownerId: string;
  playbackId: string;
  streamId: string | null;
  assetId: string | null;
  viewerId: string;
  browser: string;
  os: string;
  deviceType: string;
  startedAt: number;
};

/** Dimensions a viewership query can break down by (Studio's names; others are not recorded). */
export const BREAKDOWNS = { playbackId: 'playback_id', viewerId: 'viewer_id', browser: 'browser', os: 'os', deviceType: 'device_type' } as const;
export type Breakdown = keyof typeof BREAKDOWNS;
export const TIME_STEPS = { hour: 3_600_000, day: 86_400_000, week: 7 * 86_400_000 } as const;
export type TimeStep = keyof typeof TIME_STEPS;

export type ViewFilter = { ownerId?: string; playbackId?: string; streamId?: string; assetId?: string; from: number; to: number };
export type ViewRow = { timestamp?: number; viewCount: number; playtimeMins: number } & Partial<Record<Breakdown, string>>;

/** Playback views in PostgreSQL: one row per view, its playtime added as it plays. */
export class ViewStore {
  constructor(private readonly db: Database) {}

  async start(v: NewView): Promise<string> {
    const id = randomUUID();
    await this.db.query(
      `INSERT INTO playback_views (id, owner_id, playback_id, stream_id, asset_id, viewer_id, browser, os, device_type, started_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)`,
      [id, v.ownerId, v.playbackId, v.streamId, v.assetId, v.viewerId, v.browser, v.os, v.deviceType, v.startedAt],
    );
    return id;
  }

  async addPlaytime(id: string, ms: number, at: number): Promise<void> {
    await this.db.query(`UPDATE playback_views SET playtime_ms = playtime_ms + $2, updated_at = GREATEST(updated_at, $3) WHERE id = $1`, [id, Math.round(ms), at]);
  }

  /** Views and playtime in [from, to), optionally per time bucket (aligned to unix epoch) and broken down. */
  async query(f: ViewFilter, o: { timeStep?: TimeStep; breakdownBy?: Breakdown[] } = {}): Promise<ViewRow[]> {
    const { where, params } = whereOf(f);
    const cols = (o.breakdownBy ?? []).map((b) => `${BREAKDOWNS[b]} AS "${b}"`);
    if (o.timeStep) {
      params.push(TIME_STEPS[o.timeStep]);
      cols.unshift(`(started_at / $${params.length}) * $${params.length} AS "timestamp"`);
    }
    const group = cols.length ? `GROUP BY ${cols.map((_, i) => i + 1).join(', ')} ORDER BY ${cols.map((_, i) => i + 1).join(', ')}` : '';
    const rows = await this.db.query<Record<string, string | number>>(
      `SELECT ${[...cols, 'count(*) AS view_count', 'coalesce(sum(playtime_ms), 0) AS playtime_ms'].join(', ')} FROM playback_views WHERE ${where} ${group}`,
      params,
    );
    return rows.map((r) => {
      const out: ViewRow = { viewCount: Number(r.view_count), playtimeMins: Number(r.playtime_ms) / 60_000 };
      if (r.timestamp !== undefined) out.timestamp = Number(r.timestamp);
      for (const b of o.breakdownBy ?? []) out[b] = String(r[b]);
      return out;
    });
  }

  /** Views still playing: updated within `windowMs`, per playback id and breakdown. */
  async now(f: Omit<ViewFilter, 'from' | 'to'>, windowMs: number, breakdownBy: Breakdown[] = []): Promise<ViewRow[]> {
    const since = Date.now() - windowMs;
    const { where, params } = whereOf({ ...f, from: 0, to: Number.MAX_SAFE_INTEGER });
    params.push(since);
    const cols = breakdownBy.map((b) => `${BREAKDOWNS[b]} AS "${b}"`);
    const rows = await this.db.query<Record<string, string | number>>(
      `SELECT ${[...cols, 'count(*) AS view_count'].join(', ')} FROM playback_views WHERE ${where} AND updated_at >= $${params.length} ${cols.length ? `GROUP BY ${cols.map((_, i) => i + 1).join(', ')}` : ''}`,
      params,
    );
    return rows.map((r) => ({ viewCount: Number(r.view_count), playtimeMins: 0, ...Object.fromEntries(breakdownBy.map((b) => [b, String(r[b])])) }));
  }
}

function whereOf(f: ViewFilter): { where: string; params: unknown[] } {
  const params: unknown[] = [f.from, f.to];
  const clauses = ['started_at >= $1', 'started_at < $2'];
  for (const [column, v] of [['owner_id', f.ownerId], ['playback_id', f.playbackId], ['stream_id', f.streamId], ['asset_id', f.assetId]] as const) {
    if (v === undefined) continue;
    params.push(v);
    clauses.push(`${column}::text = $${params.length}`);
  }
  return { where: clauses.join(' AND '), params };
}
