import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Receipt } from '@segmint/protocol';

export type JournalState = { inflight: Receipt[] | null; pending: Receipt[] };

type Line = { inflight: Receipt[] } | { r: Receipt };

/**
 * The edge's receipts on disk, so a receipt a viewer was told "kept" (204) survives the edge being
 * killed at any instruction: one JSON line per receipt, appended and fsync'd before the answer;
 * when a batch goes out, the file is rewritten (temp file, fsync, rename, fsync of the directory)
 * as the batch in flight (first line) and what still waits. On start the batch in flight is sent
 * again as it was (same batch id: a submission the orchestrator already answered gets the same
 * tickets back, not a second pay and not "replayed"). A torn last line is a receipt never answered.
 */
export class ReceiptJournal {
  private readonly path: string;
  private fd: number;

  constructor(private readonly dir: string, edge: string) {
    mkdirSync(dir, { recursive: true });
    this.path = join(dir, `receipts-${edge.toLowerCase()}.jsonl`);
    this.fd = openSync(this.path, 'a');
  }

  load(): JournalState {
    let inflight: Receipt[] | null = null;
    const pending = new Map<string, Receipt>();
    for (const text of readFileSync(this.path, 'utf8').split('\n')) {
      if (!text) continue;
      let line: Line;
      try {
        line = JSON.parse(text) as Line;
      } catch {
        continue; // torn by a crash mid-append: that POST was never answered
      }
      if ('inflight' in line) inflight = line.inflight;
      else pending.set(line.r.signature.toLowerCase(), line.r);
    }
    for (const r of inflight ?? []) pending.delete(r.signature.toLowerCase());
    return { inflight, pending: [...pending.values()] };
  }

  append(receipts: Receipt[]): void {
    writeSync(this.fd, receipts.map((r) => `${JSON.stringify({ r })}\n`).join(''));
    fsyncSync(this.fd);
  }

  rewrite(inflight: Receipt[] | null, pending: Receipt[]): void {
    const tmp = `${this.path}.tmp`;
    const fd = openSync(tmp, 'w');
    try {
      const lines = [...(inflight ? [JSON.stringify({ inflight })] : []), ...pending.map((r) => JSON.stringify({ r }))];
      writeSync(fd, lines.map((l) => `${l}\n`).join(''));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path);
    const d = openSync(this.dir, 'r');
    try {
      fsyncSync(d);
    } finally {
      closeSync(d);
    }
    closeSync(this.fd);
    this.fd = openSync(this.path, 'a');
  }

  close(): void {
    closeSync(this.fd);
  }
}
