import type { Database } from '../orchestrator/src/db/database.js';
import type { TestOrchestrator } from '../e2e/helpers.js';

/** What every attack gets: its own orchestrator (own Redis prefix and data dir) and test media. */
export type AttackContext = {
  orch: TestOrchestrator;
  redisUrl: string;
  db: Database;
  /** Short 640x360 MPEG-TS source segments with audio (timestamps continuous), in order. */
  segments: Buffer[];
  /** Scratch directory for this attack (wrapper binaries, keys). */
  dir: string;
  /** Present for attacks that declare `chain: true`: anvil with the contracts, payments on. */
  chain?: { rpcUrl: string; chainId: number; ticketBroker: `0x${string}` };
};

/**
 * One attack from the trust model (DESIGN.md): a real worker process or a real client against a
 * real orchestrator. `run` carries it out and says whether the attacker gained anything; the
 * detail says what happened either way (it is printed).
 */
export type Attack = {
  name: string;
  /** Extra orchestrator environment (e.g. the spot-check rate). */
  env?: Record<string, string>;
  /** Needs a chain with payments (anvil, TicketBroker, a funded sender). */
  chain?: boolean;
  run(ctx: AttackContext): Promise<{ succeeded: boolean; detail: string }>;
};
