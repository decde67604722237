import type { Candidate } from '../marketplace/auction.js';
import type { Registry, WorkerRecord } from '../marketplace/registry.js';
import type { PendingChecks } from '../verification/pendingChecks.js';

/** The market's state is re-read at most this often while auctions run (never while idle). */
const SYNC_MS = 250;
/** A view older than this is never served: after an idle spell the next auction waits for a fresh one. */
const STALE_MAX_MS = 1000;

/**
 * This orchestrator's copy of what the auction needs about every worker, kept in memory so an
 * auction costs no Redis command. It is refreshed in the background, at most every SYNC_MS while
 * auctions run, by one round trip of five commands whatever the number of workers (heartbeats,
 * slots in use, scores, exclusions, the market's change counter, plus each worker's open checks
 * when a limit is set); registrations are re-read only when the change counter moved (every
 * registration, forgetting and exclusion bumps it).
 *
 * Slots are adjusted locally as this orchestrator claims and frees them; the claim script is what
 * keeps them exact when several orchestrators share the market (a claim on a worker that turned
 * out full is undone and the next bidder tried).
 */
export class MarketView {
  private records: WorkerRecord[] = [];
  private version: string | null = null;
  private view: { at: number; candidates: Candidate[] } | null = null;
  private loading: Promise<Candidate[]> | null = null;

  constructor(private readonly registry: Registry, private readonly pendingChecks?: PendingChecks) {}

  /** The candidates as of at most ~SYNC_MS ago (a stale view is served while a fresh one loads). */
  async candidates(): Promise<Candidate[]> {
    const now = Date.now();
    if (!this.view || now - this.view.at > STALE_MAX_MS) return this.sync();
    if (now - this.view.at > SYNC_MS) void this.sync().catch(() => {});
    return this.view.candidates;
  }

  /** Makes the next auction wait for a fresh read (a worker was penalized, a deadline passed). */
  invalidate(): void {
    if (this.view) this.view.at = 0;
  }

  /** A slot of `worker` this process freed (its settle), until the next read says otherwise. */
  freed(worker: string): void {
    const c = this.view?.candidates.find((x) => x.worker === worker);
    if (c && c.inflight > 0) c.inflight -= 1;
  }

  /** Re-reads the market (one load at a time; callers during a load share it). */
  sync(): Promise<Candidate[]> {
    if (!this.loading) {
      this.loading = this.load().finally(() => (this.loading = null));
    }
    return this.loading;
  }

  private async load(): Promise<Candidate[]> {
    const known = this.records.map((r) => r.worker);
    const [state, open] = await Promise.all([this.registry.state(), this.pendingChecks?.counts(known)]);
    if (state.version !== this.version) {
      // Registrations changed (or first read): read them again, then their open checks.
      this.records = await this.registry.records();
      this.version = state.version;
    }
    let candidates = await this.registry.candidatesOf(this.records, state);
    if (this.pendingChecks) {
      const counts = open && this.records.every((r, i) => known[i] === r.worker) ? open : await this.pendingChecks.counts(this.records.map((r) => r.worker));
      candidates = candidates.map((c, i) => ({ ...c, checksPending: counts[i] }));
    }
    // Never replace a newer view with an older read.
    if (!this.view || this.view.at <= state.at) this.view = { at: state.at, candidates };
    return candidates;
  }
}
