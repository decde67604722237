import type { EdgeView } from './edgeRegistry.js';

export type SteeringRules = { minStake: bigint };

/** Mystery checks failed in a row (slow or unreachable) after which an edge gets no new viewers. */
export const MYSTERY_FAIL_LIMIT = 3;

/** Whether an edge may take a new viewer: fresh, healthy, staked, not full, not avoided. */
export function eligible(e: EdgeView, rules: SteeringRules, avoid: ReadonlySet<string> = new Set()): boolean {
  return e.fresh && !e.excluded && e.stake >= rules.minStake && e.mysteryFailStreak < MYSTERY_FAIL_LIMIT && e.load < e.maxViewers && !avoid.has(e.edge);
}

/**
 * The steering rule: among eligible edges, the least loaded (sessions ÷ maxViewers); ties go to the
 * lower mystery-viewer latency, then at random (`rand`, so equal edges share new viewers). None
 * eligible: null, and the viewer plays from the origin.
 */
export function steer(edges: readonly EdgeView[], rules: SteeringRules, avoid: ReadonlySet<string> = new Set(), rand = Math.random): EdgeView | null {
  const ok = edges.filter((e) => eligible(e, rules, avoid));
  if (ok.length === 0) return null;
  const score = (e: EdgeView) => e.load / e.maxViewers;
  const best = Math.min(...ok.map(score));
  const least = ok.filter((e) => score(e) === best);
  const fastest = Math.min(...least.map((e) => e.latencyMs));
  const tied = least.filter((e) => e.latencyMs === fastest);
  return tied[Math.floor(rand() * tied.length)] ?? tied[0]!;
}
