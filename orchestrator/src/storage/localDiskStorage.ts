import { randomBytes } from 'node:crypto';
import { access, constants, copyFile, mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { checkKey, StorageUnavailableError, type SegmentStorage } from './segmentStorage.js';

const missing = (err: unknown) => ['ENOENT', 'ENOTDIR'].includes((err as NodeJS.ErrnoException).code ?? '');

/** Objects as files under a directory (DATA_DIR/segments by default): one orchestrator's disk, or a volume they share. */
export class LocalDiskStorage implements SegmentStorage {
  readonly location: string;
  constructor(private readonly root: string) {
    this.location = root;
  }

  private path(key: string): string {
    return join(this.root, checkKey(key));
  }

  /** Runs a file operation, turning a failure of the disk (not a missing file) into StorageUnavailableError. */
  private async fs<T>(op: string, key: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof TypeError) throw err;
      throw new StorageUnavailableError(op, join(this.root, key), err);
    }
  }

  async check(): Promise<void> {
    await this.fs('open', '', async () => {
      await mkdir(this.root, { recursive: true });
      await access(this.root, constants.W_OK | constants.R_OK);
    });
  }

  /**
   * Writes to a temp file of its own (two writers of one key never share one), fsyncs it, renames
   * it into place and fsyncs the directory: a reader never sees half a segment, and a segment
   * written before a crash or power loss is there after it.
   */
  async put(key: string, bytes: Buffer): Promise<void> {
    const p = this.path(key);
    await this.fs('write', key, async () => {
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
    });
  }

  /** A rename when `path` is on the same filesystem, else a copy (fsync'd) and a removal. */
  async moveIn(key: string, path: string): Promise<void> {
    const dest = this.path(key);
    await this.fs('move in', key, async () => {
      await mkdir(dirname(dest), { recursive: true });
      await syncFile(path);
      try {
        await rename(path, dest);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
        const tmp = `${dest}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
        await copyFile(path, tmp);
        await syncFile(tmp);
        await rename(tmp, dest);
        await rm(path, { force: true });
      }
      await syncDir(dirname(dest));
    });
  }

  async read(key: string) {
    const p = this.path(key);
    return this.fs('read', key, async () => {
      try {
        // opened before answering: a file deleted after stat cannot make the stream fail later
        const fh = await open(p, 'r');
        try {
          const st = await fh.stat();
          if (!st.isFile()) throw Object.assign(new Error('not a file'), { code: 'EISDIR' });
          return { stream: fh.createReadStream({ autoClose: true }), size: st.size };
        } catch (err) {
          await fh.close();
          throw err;
        }
      } catch (err) {
        if (missing(err) || (err as NodeJS.ErrnoException).code === 'EISDIR') return null;
        throw err;
      }
    });
  }

  async size(key: string): Promise<number | null> {
    const p = this.path(key);
    return this.fs('stat', key, () => stat(p).then((s) => (s.isFile() ? s.size : null), (err) => (missing(err) ? null : Promise.reject(err))));
  }

  async withLocalFile<T>(key: string, fn: (path: string) => Promise<T>): Promise<T | null> {
    return (await this.size(key)) === null ? null : fn(this.path(key));
  }

  /** Renames (the bytes were fsync'd by put) and fsyncs the destination directory. */
  async move(from: string, to: string): Promise<void> {
    const src = this.path(from);
    const dest = this.path(to);
    await this.fs('move', `${from} → ${to}`, async () => {
      await mkdir(dirname(dest), { recursive: true });
      await rename(src, dest);
      await syncDir(dirname(dest));
    });
  }

  async delete(keys: readonly string[]): Promise<void> {
    const paths = keys.map((k) => this.path(k));
    await this.fs('delete', keys.join(', '), () => Promise.all(paths.map((p) => rm(p, { force: true }))));
  }

  async deletePrefix(prefix: string): Promise<void> {
    const p = this.path(prefix);
    await this.fs('delete', `${prefix}*`, () => rm(p, { recursive: true, force: true }));
  }
}

/** fsync of a directory: makes a rename into it durable. */
async function syncDir(dir: string): Promise<void> {
  return syncFile(dir);
}

async function syncFile(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
