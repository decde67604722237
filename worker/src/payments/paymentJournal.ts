import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { TicketParams } from '@segmint/protocol';

/** A result posted with ticket parameters whose tickets are not in the ticket book yet. */
export type UnpaidResult = {
  jobId: string;
  /** The job's result URL: its payment is at `${resultUrl}/payment`. */
  resultUrl: string;
  /** The job token (bound to this job and worker only). */
  token: string;
  /** The ticket parameters offered (the secret is derived again from the key, never stored). */
  params: TicketParams;
  /** Unix ms after which the worker stops posting this result, so no booking can appear later. */
  hardDeadline: number;
  at: number;
};

type Line = ({ t: 'posted' } & UnpaidResult) | { t: 'paid'; jobId: string; at: number };

/**
 * The worker's journal of results posted and not yet paid: append-only JSON lines next to the
 * ticket book, fsync'd before the result is posted. A worker killed after the orchestrator booked
 * its payment and before the tickets reached the ticket book finds the job here on restart and
 * asks for the booked batch again (recoverPayments.ts). A torn last line is ignored on load: its
 * result was not posted yet.
 */
export class PaymentJournal {
  private fh: FileHandle | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly entries = new Map<string, UnpaidResult>();

  private constructor(readonly path: string) {}

  static async open(path: string): Promise<PaymentJournal> {
    const journal = new PaymentJournal(path);
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    let text = '';
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    for (const line of text.split('\n')) {
      if (!line) continue;
      try {
        journal.apply(JSON.parse(line) as Line);
      } catch {
        /* torn write */
      }
    }
    journal.fh = await open(path, 'a', 0o600);
    return journal;
  }

  private apply(l: Line): void {
    if (l.t === 'posted') this.entries.set(l.jobId, l);
    else if (l.t === 'paid') this.entries.delete(l.jobId);
  }

  /** Results posted and not yet paid, oldest first. */
  unpaid(): UnpaidResult[] {
    return [...this.entries.values()];
  }

  /** Records a result about to be posted (fsync'd before resolving). */
  posted(entry: UnpaidResult): Promise<void> {
    return this.append({ t: 'posted', ...entry });
  }

  /** Drops a result: its tickets are in the ticket book, or it will never be paid. */
  paid(jobId: string): Promise<void> {
    if (!this.entries.has(jobId)) return this.chain.then(() => {});
    return this.append({ t: 'paid', jobId, at: Date.now() });
  }

  private append(line: Line): Promise<void> {
    const next = this.chain.then(async () => {
      if (!this.fh) throw new Error('payment journal is closed');
      await this.fh.appendFile(`${JSON.stringify(line)}\n`);
      await this.fh.sync();
      this.apply(line);
    });
    this.chain = next.catch(() => {});
    return next;
  }

  /**
   * Rewrites the file with the unpaid results only (a unique temp file, fsync'd, renamed over the
   * journal, directory fsync'd), so the journal does not grow with every job ever done.
   */
  compact(): Promise<void> {
    const next = this.chain.then(async () => {
      if (!this.fh) throw new Error('payment journal is closed');
      const tmp = `${this.path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
      const out = await open(tmp, 'w', 0o600);
      try {
        await out.writeFile(this.unpaid().map((e) => `${JSON.stringify({ t: 'posted', ...e })}\n`).join(''));
        await out.sync();
      } finally {
        await out.close();
      }
      await rename(tmp, this.path);
      await syncDir(dirname(this.path));
      await this.fh.close();
      this.fh = await open(this.path, 'a', 0o600);
    });
    this.chain = next.catch(() => {});
    return next;
  }

  async close(): Promise<void> {
    await this.chain;
    await this.fh?.close();
    this.fh = null;
  }
}

/** fsync of a directory: makes a rename in it durable. */
export async function syncDir(dir: string): Promise<void> {
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}
