import type { Readable } from 'node:stream';
import { ApiError } from '@segmint/protocol';

/**
 * Where media lives: source segments, renditions, recordings, asset renditions and asset source
 * files. Keys are relative paths like `STREAM/source/1_42.ts`. Two backends: LocalDiskStorage
 * (under DATA_DIR/segments, the embedded default) and S3Storage (any S3-compatible store, shared by
 * every orchestrator configured with it). See openStorage.ts for the configuration.
 *
 * Every method throws StorageUnavailableError when the store fails (down, access denied, disk
 * full); "not there" is null, never an error.
 */
export interface SegmentStorage {
  /** Where objects go, for logs (`/data/segments`, `s3://bucket/prefix/`). */
  readonly location: string;
  /** Fails with a clear StorageUnavailableError when the store cannot be used (checked at start). */
  check(): Promise<void>;
  /** Stores the bytes whole: a reader never sees half an object, and it survives a crash once this resolves. */
  put(key: string, bytes: Buffer): Promise<void>;
  /** Stores the file at `path` (large: an asset's source) under `key`; the file is consumed (moved or uploaded, then removed). */
  moveIn(key: string, path: string): Promise<void>;
  /** A readable stream of the object, or null when it does not exist. */
  read(key: string): Promise<{ stream: Readable; size: number } | null>;
  /** The object's size in bytes, or null when it does not exist (nothing is opened). */
  size(key: string): Promise<number | null>;
  /**
   * Runs `fn` with a local file holding the object (ffmpeg reads files), or returns null when there
   * is no such object. Local disk passes its own file; S3 downloads to a temp file, removed after.
   */
  withLocalFile<T>(key: string, fn: (path: string) => Promise<T>): Promise<T | null>;
  move(from: string, to: string): Promise<void>;
  delete(keys: readonly string[]): Promise<void>;
  /** Deletes every object under the folder `prefix` (`a/b` and `a/b/` both mean everything in `a/b/`). */
  deletePrefix(prefix: string): Promise<void>;
  /** Releases connections (S3); nothing for local disk. */
  close?(): void;
}

/**
 * The store failed (not "not found"): unreachable, access denied, disk full. Retryable; the API
 * answers 503 STORAGE_UNAVAILABLE with Retry-After. The message names the operation, the object
 * and the store's own reason, so the log line says what to fix.
 */
export class StorageUnavailableError extends ApiError {
  override name = 'StorageUnavailableError';
  constructor(op: string, where: string, cause: unknown) {
    super('STORAGE_UNAVAILABLE', `segment store: ${op} ${where} failed: ${reasonOf(cause)}`, { cause, retryable: true });
  }
}

/** The most telling short reason of an fs or S3 SDK error. */
function reasonOf(err: unknown): string {
  const e = err as { name?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number } } | undefined;
  if (!e) return 'unknown error';
  const status = e.$metadata?.httpStatusCode;
  const parts = [e.code ?? (e.name && e.name !== 'Error' ? e.name : undefined), status ? `HTTP ${status}` : undefined].filter(Boolean);
  const message = (e.message ?? '').split('\n')[0];
  return parts.length ? `${parts.join(', ')}: ${message || 'no message'}` : message || 'unknown error';
}

/** A key must stay a relative path: no empty, `.` or `..` segment, no leading slash, no backslash. */
export function checkKey(key: string): string {
  const parts = key.split('/');
  const last = parts.length - 1;
  if (key === '' || key.includes('\\') || parts.some((s, i) => s === '.' || s === '..' || (s === '' && i !== last))) {
    throw new TypeError(`storage key escapes the root: ${key}`);
  }
  return key;
}
