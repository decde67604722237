import type { Redis } from 'ioredis';
import type { Hex } from 'viem';
import type { RenditionResult } from '@segmint/protocol';
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
    /** pending, agree, mismatch (tie-break running), caught, verifier-faulty, unresolved, no-verifier */
    outcome: string;
    verifier?: string;
    /** ffmpeg time the verifier reported: the extra transcode cost of this check. */
    verifierTranscodeMs?: number;
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
    /** StakingManager.slash of the faulty worker: its transaction, or why it failed. */
    slash?: { tx: Hex; blockNumber: string } | { error: string };
  };
  publishedAt: number;
};

/**
 * Audit records in Redis, one per published segment, kept `retentionSec` (at least the unbonding
 * period, so evidence outlives the stake it could slash).
 */
export class AuditStore {
  constructor(private readonly redis: Redis, private readonly prefix: string, private readonly retentionSec: number) {}

  private key(streamId: string, session: number, seq: number) {
    return `${this.prefix}:audit:{${streamId}}:${session}:${seq}`;
  }

  async put(r: AuditRecord): Promise<void> {
    await this.redis.set(this.key(r.streamId, r.session, r.seq), JSON.stringify(r), 'EX', this.retentionSec);
  }

  async get(streamId: string, session: number, seq: number): Promise<AuditRecord | null> {
    const raw = await this.redis.get(this.key(streamId, session, seq));
    return raw ? (JSON.parse(raw) as AuditRecord) : null;
  }
}

export type { CommitmentDomain };
