/**
 * At most `max` holders at once and `maxWaiting` more in line; beyond that `take` says no at once
 * (the caller skips the work rather than queueing without bound). A released slot passes straight
 * to the next in line, so a newcomer can never slip in between.
 */
export class Slots {
  private held = 0;
  private readonly line: (() => void)[] = [];

  constructor(
    readonly max: number,
    readonly maxWaiting: number,
  ) {}

  /** Resolves true once a slot is held (call `release` after), or false at once when the line is full. */
  async take(): Promise<boolean> {
    if (this.held < this.max) {
      this.held++;
      return true;
    }
    if (this.line.length >= this.maxWaiting) return false;
    await new Promise<void>((handed) => this.line.push(handed));
    return true;
  }

  release(): void {
    const next = this.line.shift();
    if (next) next();
    else this.held--;
  }

  get busy(): { held: number; waiting: number } {
    return { held: this.held, waiting: this.line.length };
  }
}
