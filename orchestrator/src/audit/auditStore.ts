import type { Hex } from 'viem';
import type { RenditionResult, SegmentJob } from '@segmint/protocol';
import type { Database } from '../db/database.js';
import type { CommitmentDomain } from './commitments.js';

/** Who transcoded a published segment and what they committed to: the audit trail of one seq. */
export type AuditRecord = {
  jobId: string;
  streamId: string;
  session: number;
  seq: number;
  worker: string;
  encoderFingerprint: string;
  /** ffmpeg time the worker reported (spot-check cost is measured against it). */
  transcodeMs?: number;
  renditions: RenditionResult[];
  commitment: { root: Hex; signature: Hex; chainId: number; stakingManager: string };
  /** Merkle proof of each rendition's leaf `(jobId, rendition, sha256)` under the root. */
  proofs: Record<string, Hex[]>;
  /** Outcome of the spot-check: null while the segment was not sampled (or no verifier was free). */
  spotCheck: null | {
    /** pending, agree, mismatch (tie-break running), caught, verifier-faulty, unresolved, no-verifier, redone, quality-pass, quality-fail, quality-inconclusive */
    outcome: string;
    verifier?: string;
    /** ffmpeg time the verifier reported: the extra transcode cost of this check. */
    verifierTranscodeMs?: number;
    /** A re-transcode of an unchecked segment, after its worker was proven to cheat elsewhere. */
    redo?: boolean;
    /** ffmpeg time the tie-breaker reported (a mismatch's further cost). */
    tieBreakTranscodeMs?: number;
    tieBreaker?: string;
    /** The worker proven wrong (2 of 3 agree against it). */
    faulty?: string;
    /** Renditions whose hashes differ between the published result and the first verifier's. */
    mismatched?: string[];
    verifierRenditions?: RenditionResult[];
    /** The first verifier's signed commitment (evidence if the tie-break proves it wrong). */
    verifierCommitment?: { root: Hex; signature: Hex };
    /** What the faulty worker was credited for this job was taken back from its credit. */
    clawedBack?: boolean;
    /** The caught segment's files were replaced by the tie-breaker's (false: already deleted). */
    replaced?: boolean;
    /** Quality check (media/src/quality) per rendition against the orchestrator's own transcode. */
    quality?: Record<string, {
      verdict: string; failures: string[]; meanSsim: number; minBlockPsnr: number; detailRatio: number;
      /** An honest encode of the same segment, compared with the reference too, when this one failed. */
      secondOpinion?: { encoder: string; failures: string[]; unjudged: string[] };
    }>;
    /** Quality check of a non-deterministic encoder: mean SSIM per rendition against the source. */
    ssim?: Record<string, number>;
    ssimThreshold?: number;
    /** Time the orchestrator spent on a quality check (its cost). */
    checkMs?: number;
    /** StakingManager.slash of the faulty worker: its transaction, or why it failed. */
    slash?: { tx: Hex; blockNumber: string } | { error: string };
  };
  publishedAt: number;
  /** Revision of the published files (> 0 once a caught segment was republished under new names). */
  rev?: number;
  /** The segment job itself (kept so a segment can be transcoded again if its worker is proven to cheat). */
  job?: SegmentJob;
};

/** Why a seq was skipped (a gap in the playlists): the stable reason and the detail logged with it. */
export type SkipReason = 'attempts-exhausted' | 'no-worker' | 'stuck' | 'storage';
export type SkipRecord = { streamId: string; session: number; seq: number; reason: SkipReason; detail: string; skippedAt: number };

export type VerificationSummary = {
  segments: number;
  sampled: number;
  /** Spot-check outcome → segments. */
  outcomes: Record<string, number>;
  /** ffmpeg time of the published results. */
  transcodeMs: number;
  /** ffmpeg time spent on checking them. */
  checkTranscodeMs: number;
  /** checkTranscodeMs ÷ transcodeMs: what verification adds to the stream's transcode bill. */
  extraCost: number;
};

/**
 * Audit records in PostgreSQL, one row per published segment, kept `retentionSec` (at least the
 * unbonding period, so evidence outlives the stake it could slash). Durable like the streams they
 * belong to: an orchestrator restart, or a Redis flush, loses none.
 */
export class AuditStore {
  private puts = 0;

  constructor(
    private readonly db: Database,
    private readonly retentionSec: number,
    /** Expired rows are deleted every this many writes. */
    private readonly purgeEvery = 500,
  ) {}

  async put(r: AuditRecord): Promise<void> {
    const expiresAt = Date.now() + this.retentionSec * 1000;
    await this.db.query(
      `INSERT INTO audit_records (stream_id, session, seq, worker, record, published_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (stream_id, session, seq) DO UPDATE SET record = EXCLUDED.record, expires_at = EXCLUDED.expires_at`,
      [r.streamId, r.session, r.seq, r.worker.toLowerCase(), JSON.stringify(r), r.publishedAt, expiresAt],
    );
    if (++this.puts % this.purgeEvery === 0) await this.purge();
  }

  async get(streamId: string, session: number, seq: number): Promise<AuditRecord | null> {
    const [row] = await this.db.query<{ record: AuditRecord | string }>(
      `SELECT record FROM audit_records WHERE stream_id = $1 AND session = $2 AND seq = $3 AND expires_at > $4`,
      [streamId, session, seq, Date.now()],
    );
    if (!row) return null;
    return typeof row.record === 'string' ? (JSON.parse(row.record) as AuditRecord) : row.record;
  }

  /**
   * What verification did for a stream (records still in retention): segments published, how many
   * were sampled, outcomes, and what the checks cost in transcode time against the publishing
   * transcodes (verifier + tie-break ffmpeg time; orchestrator time for SSIM checks).
   */
  async summary(streamId: string): Promise<VerificationSummary> {
    const rows = await this.db.query<{ outcome: string | null; n: string | number; transcode_ms: string | number | null; check_ms: string | number | null }>(
      `SELECT record->'spotCheck'->>'outcome' AS outcome, count(*) AS n,
              sum((record->>'transcodeMs')::double precision) AS transcode_ms,
              sum(coalesce((record->'spotCheck'->>'verifierTranscodeMs')::double precision, 0)
                + coalesce((record->'spotCheck'->>'tieBreakTranscodeMs')::double precision, 0)
                + coalesce((record->'spotCheck'->>'checkMs')::double precision, 0)) AS check_ms
         FROM audit_records WHERE stream_id = $1 AND expires_at > $2
        GROUP BY 1`,
      [streamId, Date.now()],
    );
    const s: VerificationSummary = { segments: 0, sampled: 0, outcomes: {}, transcodeMs: 0, checkTranscodeMs: 0, extraCost: 0 };
    for (const r of rows) {
      const n = Number(r.n);
      s.segments += n;
      s.transcodeMs += Number(r.transcode_ms ?? 0);
      s.checkTranscodeMs += Number(r.check_ms ?? 0);
      if (r.outcome !== null) {
        s.sampled += n;
        s.outcomes[r.outcome] = n;
      }
    }
    s.transcodeMs = Math.round(s.transcodeMs);
    s.checkTranscodeMs = Math.round(s.checkTranscodeMs);
    s.extraCost = s.transcodeMs > 0 ? s.checkTranscodeMs / s.transcodeMs : 0;
    return s;
  }

  /** The `limit` latest segments `worker` published that were never spot-checked (within retention). */
  async uncheckedBy(worker: string, limit: number): Promise<AuditRecord[]> {
    const rows = await this.db.query<{ record: AuditRecord | string }>(
      `SELECT record FROM audit_records
        WHERE worker = $1 AND expires_at > $2 AND jsonb_typeof(record->'spotCheck') = 'null'
        ORDER BY published_at DESC LIMIT $3`,
      [worker.toLowerCase(), Date.now(), limit],
    );
    return rows.map((r) => (typeof r.record === 'string' ? (JSON.parse(r.record) as AuditRecord) : r.record));
  }

  /** Records why a seq was skipped (once: a second skip of the same seq keeps the first reason). */
  async putSkip(r: SkipRecord): Promise<void> {
    await this.db.query(
      `INSERT INTO segment_skips (stream_id, session, seq, reason, detail, skipped_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (stream_id, session, seq) DO NOTHING`,
      [r.streamId, r.session, r.seq, r.reason, r.detail, r.skippedAt, r.skippedAt + this.retentionSec * 1000],
    );
  }

  /** The stream's skipped seqs still in retention, oldest first. */
  async skips(streamId: string): Promise<SkipRecord[]> {
    const rows = await this.db.query<{ session: number; seq: number; reason: SkipReason; detail: string; skipped_at: string | number }>(
      `SELECT session, seq, reason, detail, skipped_at FROM segment_skips WHERE stream_id = $1 AND expires_at > $2 ORDER BY session, seq`,
      [streamId, Date.now()],
    );
    return rows.map((r) => ({ streamId, session: Number(r.session), seq: Number(r.seq), reason: r.reason, detail: r.detail, skippedAt: Number(r.skipped_at) }));
  }

  /** Deletes the records past their retention; returns how many. */
  async purge(now = Date.now()): Promise<number> {
    const rows = await this.db.query(`DELETE FROM audit_records WHERE expires_at <= $1 RETURNING seq`, [now]);
    await this.db.query(`DELETE FROM segment_skips WHERE expires_at <= $1`, [now]);
    return rows.length;
  }
}

export type { CommitmentDomain };
