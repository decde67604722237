/**
 * One base error for the whole project (after viem's BaseError): a stable `code` callers branch on,
 * a `retryable` flag the job runner branches on, an optional HTTP `status` for the API, and a
 * `walk()` down the cause chain.
 */
export type SegmintErrorOptions = {
  cause?: unknown;
  details?: string;
  /** true: the same work may succeed if tried again (network, timeouts); false: it never will. */
  retryable?: boolean;
  /** HTTP status the API answers with when this error reaches a route. */
  status?: number;
};

export class SegmintError extends Error {
  override name = 'SegmintError';
  readonly code: string;
  readonly details: string | undefined;
  readonly retryable: boolean;
  readonly status: number;

  constructor(code: string, message: string, options: SegmintErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details;
    this.retryable = options.retryable ?? false;
    this.status = options.status ?? 500;
  }

  /** Walks the cause chain; returns the first error matching `fn`, or the deepest one. */
  walk(fn?: (err: unknown) => boolean): unknown {
    let err: unknown = this;
    while (err instanceof Error) {
      if (fn?.(err)) return err;
      if (err.cause === undefined) break;
      err = err.cause;
    }
    return fn ? null : err;
  }

  toJSON(): { code: string; message: string } {
    return { code: this.code, message: this.message };
  }
}

export const isSegmintError = (err: unknown): err is SegmintError => err instanceof SegmintError;
