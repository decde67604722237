export type FaultKind = 'kill-worker' | 'kill-orchestrator' | 'restart-redis';
export type Fault = { kind: FaultKind; atMs: number; target: number; downMs: number };

/** Time between faults: an orchestrator killed is back (and healthy) before the next one. */
const SPACING_MS = 12_000;
/** Quiet time at the start (everything registered, the stream live) and at the end (recovery). */
const LEAD_MS = 10_000;
const TAIL_MS = 10_000;

/** mulberry32: a small seeded PRNG, so a seed replays the same schedule. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The faults of a run, from its seed: one every ~SPACING_MS (±2 s), the kinds dealt in shuffled
 * rounds so every kind comes up (a 90 s run has 6: two of each), targets and downtimes drawn.
 */
export function planFaults(seed: number, runMs: number, workers: number): Fault[] {
  const random = rng(seed);
  const count = Math.max(0, Math.floor((runMs - LEAD_MS - TAIL_MS) / SPACING_MS) + 1);
  const kinds: FaultKind[] = [];
  while (kinds.length < count) {
    const round: FaultKind[] = ['kill-worker', 'kill-orchestrator', 'restart-redis'];
    for (let i = round.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [round[i], round[j]] = [round[j]!, round[i]!];
    }
    kinds.push(...round);
  }
  let orchestrator = Math.floor(random() * 2);
  return kinds.slice(0, count).map((kind, i) => {
    const atMs = LEAD_MS + i * SPACING_MS + Math.round((random() - 0.5) * 4000);
    if (kind === 'kill-worker') return { kind, atMs, target: Math.floor(random() * workers), downMs: 1000 + Math.round(random() * 2000) };
    if (kind === 'kill-orchestrator') return { kind, atMs, target: (orchestrator = 1 - orchestrator), downMs: 2000 + Math.round(random() * 3000) };
    return { kind, atMs, target: 0, downMs: 1000 + Math.round(random() * 1000) };
  });
}
