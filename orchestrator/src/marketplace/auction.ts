/**
 * The per-segment auction (DESIGN step 2), pure: candidates in, ranking out.
 *
 * Eligible: heartbeat fresh, not excluded (proven to cheat, or failed a quality check), stake known (see CachedStake), not jailed, stake ≥ minimum, ask ≤ the stream's max price, one of the
 * encoders and the output height the job needs, a free slot, not excluded (already tried for this segment),
 * fewer than the limit of its sampled results still waiting for their check.
 *
 * Rank by **effective price**, lowest first:
 *   effective = (ask + 1 wei) × reliability penalty × speed penalty ÷ stake boost
 *   reliability penalty = 1 / max(0.05, success EWMA)         (a worker failing half its jobs costs 2×)
 *   speed penalty       = 1 + max(0, latency EWMA − 0.5)        (latency as a fraction of segment duration)
 *   stake boost         = 1 + 0.1 × log2(1 + stake / unit), at most 2   (skin in the game, gently)
 * Ties: lower ask, then higher stake, then lower address: deterministic on every orchestrator.
 *
 * Clearing rule: **pay-as-ask**. The winner is paid its own ask per pixel, never more than the
 * stream's max price. (A second-price rule would pay the runner-up's ask; with probabilistic
 * tickets and asks that change rarely, pay-as-ask is simpler to audit and cannot overpay.)
 */
import type { Capabilities } from '@segmint/protocol';

export type Performance = {
  /** EWMA of wall time ÷ segment duration (0.5 = twice as fast as real time). */
  latencyRatio: number;
  /** EWMA of 1 (valid result in time) and 0 (late, failed, rejected). */
  successRate: number;
};

export type Candidate = {
  worker: string;
  pricePerPixel: bigint;
  stake: bigint;
  jailed: boolean;
  /** No stake value read recently enough (chain unreachable past the grace period): excluded. */
  stakeUnavailable?: boolean;
  heartbeatFresh: boolean;
  /** Until when its last heartbeat keeps it fresh (ms): a cached candidate's freshness is recomputed from it. */
  freshUntil?: number;
  /** Kept out of auctions for a while: proven to cheat, or failed a quality (SSIM) check. */
  excluded?: boolean;
  capabilities: Capabilities;
  inflight: number;
  perf: Performance;
  /** Its sampled results whose check has not concluded (see verification/pendingChecks.ts). */
  checksPending?: number;
};

/**
 * What a segment needs: one of these encoders, outputs up to this height, and for a spot-check the
 * same encoder fingerprint as the worker checked (equal fingerprints must give equal bytes).
 */
export type AuctionJob = { encoders: readonly string[]; maxHeight: number; fingerprint?: string };

export type AuctionRules = {
  minStake: bigint;
  maxPricePerPixel: bigint;
  /** Workers not to ask again for this segment. */
  exclude?: ReadonlySet<string>;
  /** Stake that counts as one unit in the boost (e.g. 1 token = 10^18). */
  stakeUnit?: bigint;
  /** A worker with this many checks open wins nothing until they conclude. */
  maxPendingChecks?: number;
};

export type IneligibleReason =
  | 'excluded' | 'stale-heartbeat' | 'faulty-excluded' | 'stake-unavailable' | 'jailed' | 'stake-below-minimum' | 'price-above-max' | 'capability' | 'no-free-slot' | 'checks-pending';

export type RankedBid = { worker: string; pricePerPixel: bigint; effectivePrice: number; candidate: Candidate };

export type AuctionReturnType = {
  ranked: RankedBid[];
  ineligible: { worker: string; reason: IneligibleReason }[];
  /** What the winner is paid per pixel (pay-as-ask), or null when nobody is eligible. */
  clearingPricePerPixel: bigint | null;
};

export function ineligibility(c: Candidate, job: AuctionJob, rules: AuctionRules): IneligibleReason | null {
  if (rules.exclude?.has(c.worker)) return 'excluded';
  if (!c.heartbeatFresh) return 'stale-heartbeat';
  if (c.excluded) return 'faulty-excluded';
  if (c.stakeUnavailable) return 'stake-unavailable';
  if (c.jailed) return 'jailed';
  if (c.stake < rules.minStake) return 'stake-below-minimum';
  if (c.pricePerPixel > rules.maxPricePerPixel) return 'price-above-max';
  if (job.fingerprint !== undefined && c.capabilities.fingerprint !== job.fingerprint) return 'capability';
  if (!job.encoders.some((e) => c.capabilities.encoders.includes(e)) || c.capabilities.maxHeight < job.maxHeight) return 'capability';
  if (c.inflight >= c.capabilities.maxConcurrent) return 'no-free-slot';
  if (rules.maxPendingChecks !== undefined && (c.checksPending ?? 0) >= rules.maxPendingChecks) return 'checks-pending';
  return null;
}

export function effectivePrice(c: Candidate, stakeUnit: bigint): number {
  const reliability = 1 / Math.max(0.05, c.perf.successRate);
  const speed = 1 + Math.max(0, c.perf.latencyRatio - 0.5);
  const units = Number(c.stake / (stakeUnit > 0n ? stakeUnit : 1n));
  const boost = Math.min(2, 1 + 0.1 * Math.log2(1 + units));
  return (Number(c.pricePerPixel) + 1) * reliability * speed / boost;
}

export function runAuction(candidates: readonly Candidate[], job: AuctionJob, rules: AuctionRules): AuctionReturnType {
  const unit = rules.stakeUnit ?? 10n ** 18n;
  const ineligible: AuctionReturnType['ineligible'] = [];
  const ranked: RankedBid[] = [];
  for (const c of candidates) {
    const reason = ineligibility(c, job, rules);
    if (reason) ineligible.push({ worker: c.worker, reason });
    else ranked.push({ worker: c.worker, pricePerPixel: c.pricePerPixel, effectivePrice: effectivePrice(c, unit), candidate: c });
  }
  ranked.sort(
    (a, b) =>
      a.effectivePrice - b.effectivePrice ||
      (a.pricePerPixel < b.pricePerPixel ? -1 : a.pricePerPixel > b.pricePerPixel ? 1 : 0) ||
      (a.candidate.stake > b.candidate.stake ? -1 : a.candidate.stake < b.candidate.stake ? 1 : 0) ||
      (a.worker < b.worker ? -1 : a.worker > b.worker ? 1 : 0),
  );
  const winner = ranked[0];
  return { ranked, ineligible, clearingPricePerPixel: winner ? winner.pricePerPixel : null };
}

/** Moves an EWMA towards a new sample (alpha = weight of the sample). */
export const ewma = (previous: number, sample: number, alpha = 0.2) => previous + alpha * (sample - previous);
