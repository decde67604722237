import { mkdir, open, readFile, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Address, Hex } from 'viem';

/** A winning ticket as redeemed on-chain: the ticket (bigints as decimal strings), its signature and our secret. */
export type WinRecord = {
  t: 'win';
  jobId: string;
  /** EIP-712 digest: the broker's usedTickets key. */
  hash: Hex;
  broker: Address;
  chainId: number;
  ticket: { recipient: Address; sender: Address; faceValue: string; winProb: string; senderNonce: string; recipientRandHash: Hex; expiry: string };
  signature: Hex;
  recipientRand: string;
  at: number;
};

/** Tickets received for one result (winners are separate `win` lines written in the same append). */
export type BatchRecord = {
  t: 'batch';
  jobId: string;
  sender: Address;
  count: number;
  /** Σ EV of the tickets, wei (floor per ticket). */
  ev: string;
  owed: string;
  pricePerPixel: string;
  pixels: string;
  credit: string;
  at: number;
};

export type Fate = 'redeemed' | 'already-redeemed' | 'expired' | 'invalid';
export type FateRecord = { t: 'fate'; hash: Hex; fate: Fate; tx?: Hex; /** wei paid to us (redeemed only) */ wei?: string; /** our share of the batch's gas, wei */ gasWei?: string; reason?: string; at: number };

export type StoreRecord = WinRecord | BatchRecord | FateRecord;

/**
 * The worker's ticket book: one append-only JSON-lines file, fsync'd after every append, so a
 * winning ticket is on disk before the job that earned it is acknowledged, and a crash (kill -9,
 * power loss) at any point loses none. Redemption outcomes are appended as `fate` lines; state is
 * the fold of the file. A torn last line (crash mid-write) is ignored on load: its job was not yet
 * acknowledged, so the orchestrator re-sends the same tickets when the result is retried.
 */
export class TicketStore {
  private fh: FileHandle | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  readonly wins = new Map<Hex, WinRecord>();
  readonly fates = new Map<Hex, FateRecord>();
  readonly batches = new Map<string, BatchRecord>();

  private constructor(readonly path: string) {}

  static async open(path: string): Promise<TicketStore> {
    const store = new TicketStore(path);
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    await store.reload();
    store.fh = await open(path, 'a', 0o600);
    return store;
  }

  /** Re-reads the file (another process, e.g. `worker earnings --redeem`, may have appended). */
  async reload(): Promise<void> {
    let text = '';
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    this.wins.clear();
    this.fates.clear();
    this.batches.clear();
    for (const line of text.split('\n')) {
      if (!line) continue;
      let r: StoreRecord;
      try {
        r = JSON.parse(line) as StoreRecord;
      } catch {
        continue; // torn write
      }
      this.apply(r);
    }
  }

  private apply(r: StoreRecord): void {
    if (r.t === 'win') this.wins.set(r.hash, r);
    else if (r.t === 'batch') this.batches.set(r.jobId, r);
    else if (r.t === 'fate') this.fates.set(r.hash, r);
  }

  /** Appends records in one write and fsyncs before resolving. Appends are serialized. */
  append(records: StoreRecord[]): Promise<void> {
    const next = this.chain.then(async () => {
      if (!this.fh) throw new Error('ticket store is closed');
      await this.fh.appendFile(records.map((r) => `${JSON.stringify(r)}\n`).join(''));
      await this.fh.sync();
      for (const r of records) this.apply(r);
    });
    this.chain = next.catch(() => {});
    return next;
  }

  /** Winners without a fate yet. */
  pending(): WinRecord[] {
    return [...this.wins.values()].filter((w) => !this.fates.has(w.hash));
  }

  summary() {
    let received = 0;
    let ev = 0n;
    for (const b of this.batches.values()) {
      received += b.count;
      ev += BigInt(b.ev);
    }
    const byFate: Record<Fate, number> = { redeemed: 0, 'already-redeemed': 0, expired: 0, invalid: 0 };
    let earned = 0n;
    let gas = 0n;
    for (const f of this.fates.values()) {
      byFate[f.fate] += 1;
      earned += BigInt(f.wei ?? '0');
      gas += BigInt(f.gasWei ?? '0');
    }
    const pending = this.pending();
    return {
      results: this.batches.size,
      received,
      ev,
      won: this.wins.size,
      ...byFate,
      pending: pending.length,
      pendingWei: pending.reduce((s, w) => s + BigInt(w.ticket.faceValue), 0n),
      earned,
      gas,
    };
  }

  async close(): Promise<void> {
    await this.chain;
    await this.fh?.close();
    this.fh = null;
  }
}
