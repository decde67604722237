/**
 * Segments held by an edge, within a byte limit: least recently served goes first. A miss is
 * fetched once however many viewers ask at the same time (one origin pull per segment).
 */
export class SegmentCache {
  private readonly entries = new Map<string, Buffer>();
  private readonly pending = new Map<string, Promise<Buffer | null>>();
  private used = 0;
  hits = 0;
  misses = 0;

  constructor(readonly maxBytes: number) {}

  get bytes(): number {
    return this.used;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The cached bytes of `key`, else `fetch()`'s (cached when not null and not larger than the whole cache). */
  async get(key: string, fetch: () => Promise<Buffer | null>): Promise<Buffer | null> {
    const hit = this.entries.get(key);
    if (hit) {
      this.hits++;
      this.entries.delete(key); // re-inserted: most recently served last
      this.entries.set(key, hit);
      return hit;
    }
    let p = this.pending.get(key);
    if (!p) {
      this.misses++;
      p = fetch().then((b) => (b && this.put(key, b), b)).finally(() => this.pending.delete(key));
      this.pending.set(key, p);
    }
    return p;
  }

  private put(key: string, b: Buffer): void {
    if (b.length > this.maxBytes) return;
    this.entries.set(key, b);
    this.used += b.length;
    for (const [k, v] of this.entries) {
      if (this.used <= this.maxBytes) break;
      this.entries.delete(k);
      this.used -= v.length;
    }
  }
}
