import type { SegmentJob } from '@segmint/protocol';
import type { SkipReason } from '../audit/auditStore.js';

/** A spot-check job: which worker's published result it checks, and (tie-break) the first verifier. */
/**
 * A re-transcode whose result is compared, never published as a new segment. `tieBreakOf`: the
 * first verifier disagreed, this is the third opinion. `redo`: `checked` was proven to cheat on
 * another segment, so this unchecked one of its is done again and replaced if it differs.
 */
export type SpotCheck = { checked: string; fingerprint: string; tieBreakOf?: string; redo?: boolean };

/**
 * What a worker won a job with, fixed when it was handed the job and kept server-side: the price
 * per pixel its tickets pay (decimal wei) and the encoder fingerprint it was chosen for.
 */
export type Assignment = { pricePerPixel: string; fingerprint: string; at: number };

/** How a worker's attempt at a job ended, as the result handler saw it. */
export type Settlement =
  /** Its result passed the checks and was published (or resolved the seq). */
  | { outcome: 'accepted' }
  /** Valid, but another worker's result for the same segment came first. */
  | { outcome: 'duplicate' }
  /** It reported a failure, or its result failed the checks. */
  | { outcome: 'failed'; reason: string };

/**
 * Hands segment jobs to workers and follows them until one valid result is in. The orchestrator
 * sees only this interface; the marketplace (auction, per-worker queues, deadlines, failover) is
 * one implementation of it.
 */
export interface Dispatcher {
  enqueue(job: SegmentJob): Promise<void>;
  /** The job while it is known (in flight, or recently finished). */
  get(jobId: string): Promise<SegmentJob | null>;
  /** What `worker` won the job with (null: it was never handed the job, or long ago). */
  assignment(jobId: string, worker: string): Promise<Assignment | null>;
  /**
   * Called when a worker's result passed the checks, before it is published: true for the first
   * valid result of the job (it publishes), false for any later one (dropped as a duplicate).
   */
  claimResult(jobId: string, worker: string): Promise<boolean>;
  /** The worker whose result was accepted for the job, while remembered (null: none, or skipped). */
  acceptedBy(jobId: string): Promise<string | null>;
  /** Undoes claimResult when publishing failed, so the segment can still be done by someone. */
  unclaimResult(jobId: string, worker: string): Promise<void>;
  /**
   * Sends an accepted segment to a second worker with the same encoder fingerprint (not `worker`)
   * to re-transcode it for comparison: 'sent', 'queued' (sent once a slot frees), or 'none' (no
   * other worker with that fingerprint is online; with `wait: false`, none free right now).
   */
  enqueueCheck(job: SegmentJob, check: SpotCheck, opts?: { wait?: boolean }): Promise<'sent' | 'queued' | 'none'>;
  /** Called once per queued spot-check that found no verifier in time (it is dropped). */
  onCheckGaveUp(handler: (job: SegmentJob) => void): void;
  /** The spot-check a (job, worker) pair is doing, if it is one (its result is compared, never published). */
  checkOf(jobId: string, worker: string): Promise<SpotCheck | null>;
  /**
   * A worker proven wrong by a spot-check: its score falls as for a failure, and the fault is
   * counted; with `excludeForMs` it also wins no auction for that long.
   */
  penalize(worker: string, opts?: { excludeForMs?: number }): Promise<void>;
  /** Whether a worker is kept out of auctions now (its in-flight results are refused too). */
  isExcluded(worker: string): Promise<boolean>;
  /** Tells the dispatcher how a worker's attempt ended (frees its slot, scores it, fails over). */
  settle(job: SegmentJob, worker: string, settlement: Settlement): Promise<void>;
  /**
   * Of these in-flight jobs, the ones nobody is on: no worker holds a claim, no live orchestrator
   * has it waiting for a slot, nobody is recovering it (a crash left them: see live/stuckSweeper).
   */
  orphaned(jobIds: readonly string[]): Promise<Set<string>>;
  /**
   * Takes over an orphaned job (once, across orchestrators): dispatches it again, or gives it up
   * when every attempt is spent. False when another orchestrator is recovering it.
   */
  recover(job: SegmentJob): Promise<boolean>;
  /** Called once per job that no worker could do (the segment is then skipped). */
  onGaveUp(handler: (job: SegmentJob, reason: SkipReason, detail: string) => void): void;
  close(): Promise<void>;
}
