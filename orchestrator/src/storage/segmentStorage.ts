import { randomBytes } from 'node:crypto';
import { createReadStream, type ReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, normalize, sep } from 'node:path';

/**
 * Where segments live. Keys are relative paths like `STREAM/source/1_42.ts`. Local disk now; an
 * S3-compatible store later, behind the same interface.
 */
export interface SegmentStorage {
  put(key: string, bytes: Buffer): Promise<void>;
  /** A readable stream of the object, or null when it does not exist. */
  read(key: string): Promise<{ stream: ReadStream; size: number } | null>;
  /** The object's size in bytes, or null when it does not exist (nothing is opened). */
  size(key: string): Promise<number | null>;
  move(from: string, to: string): Promise<void>;
  delete(keys: readonly string[]): Promise<void>;
  deletePrefix(prefix: string): Promise<void>;
}

/** Segments as files under `DATA_DIR/segments`. */
export class LocalDiskStorage implements SegmentStorage {
  constructor(private readonly root: string) {}

  private path(key: string): string {
    const p = normalize(join(this.root, key));
    if (!p.startsWith(this.root + sep)) throw new TypeError(`storage key escapes the root: ${key}`);
    return p;
  }

  /**
   * Writes to a temp file of its own (two writers of one key never share one), fsyncs it, renames
   * it into place and fsyncs the directory: a reader never sees half a segment, and a segment
   * written before a crash or power loss is there after it.
   */
  async put(key: string, bytes: Buffer): Promise<void> {
    const p = this.path(key);
    await mkdir(dirname(p), { recursive: true });
    const tmp = `${p}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      const fh = await open(tmp, 'wx');
      try {
        await fh.writeFile(bytes);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, p);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    await syncDir(dirname(p));
  }

  async read(key: string) {
    const p = this.path(key);
    try {
      const { size } = await stat(p);
      return { stream: createReadStream(p), size };
    } catch {
      return null;
    }
  }

  async size(key: string): Promise<number | null> {
    return stat(this.path(key)).then((s) => s.size, () => null);
  }

  /** Renames (the bytes were fsync'd by put) and fsyncs the destination directory. */
  async move(from: string, to: string): Promise<void> {
    const dest = this.path(to);
    await mkdir(dirname(dest), { recursive: true });
    await rename(this.path(from), dest);
    await syncDir(dirname(dest));
  }

  async delete(keys: readonly string[]): Promise<void> {
    await Promise.all(keys.map((k) => rm(this.path(k), { force: true })));
  }

  async deletePrefix(prefix: string): Promise<void> {
    await rm(this.path(prefix), { recursive: true, force: true });
  }
}

/** fsync of a directory: makes a rename into it durable. */
async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
