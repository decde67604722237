import { mkdtemp, readdir, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { startS3Server, S3RVER_KEYS, type TestS3Server } from '../../../e2e/s3Server.js';
import { LocalDiskStorage } from './localDiskStorage.js';
import { S3Storage } from './s3Storage.js';
import { StorageUnavailableError, type SegmentStorage } from './segmentStorage.js';

let root: string;
let s3: TestS3Server;
const opened: SegmentStorage[] = [];

beforeAll(async () => {
  s3 = await startS3Server();
});
afterAll(async () => {
  for (const s of opened) s.close?.();
  await s3.close();
});
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'segmint-storage-'));
});
afterEach(() => rm(root, { recursive: true, force: true }));

const s3Storage = (prefix: string, credentials = S3RVER_KEYS) => {
  const s = new S3Storage({ bucket: s3.bucket, prefix, endpoint: s3.endpoint, region: 'us-east-1', credentials, forcePathStyle: true });
  opened.push(s);
  return s;
};

const backends: [string, () => SegmentStorage][] = [
  ['local disk', () => new LocalDiskStorage(root)],
  // a fresh prefix per test: tests share one server
  ['S3 (s3rver over HTTP)', () => s3Storage(`t${Math.random().toString(36).slice(2, 10)}/`)],
];

async function readAll(storage: SegmentStorage, key: string): Promise<Buffer | null> {
  const obj = await storage.read(key);
  if (!obj) return null;
  const chunks: Buffer[] = [];
  for await (const c of obj.stream as Readable) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe('local disk storage writes', () => {
  // S3 promises the same for its PUTs (atomic, last writer wins), but s3rver writes the file in
  // place and two racing PUTs can interleave there: so this one runs on local disk only.
  it('two concurrent writes to one key both succeed and leave one whole object, no temp file', async () => {
    const storage = new LocalDiskStorage(root);
    const a = Buffer.alloc(4 << 20, 0xaa);
    const b = Buffer.alloc(3 << 20, 0xbb);
    for (let i = 0; i < 5; i++) {
      const key = `s/source/1_${i}.ts`;
      await Promise.all([storage.put(key, a), storage.put(key, b)]);
      const got = await readAll(storage, key);
      expect(got?.equals(a) || got?.equals(b)).toBe(true);
      expect(await storage.size(key)).toBe(got!.length);
    }
    expect((await readdir(join(root, 's/source'))).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});

describe.each(backends)('%s storage', (_name, make) => {
  it('an overwrite leaves the whole new object, with its size', async () => {
    const storage = make();
    await storage.put('s/source/1_0.ts', Buffer.alloc(3 << 20, 0xaa));
    const b = Buffer.alloc(1 << 20, 0xbb);
    await storage.put('s/source/1_0.ts', b);
    expect((await readAll(storage, 's/source/1_0.ts'))?.equals(b)).toBe(true);
    expect(await storage.size('s/source/1_0.ts')).toBe(b.length);
  });

  it('moves an object into place and refuses keys that escape the root', async () => {
    const storage = make();
    await storage.put('pending/x.ts', Buffer.from('bytes'));
    await storage.move('pending/x.ts', 'final/x.ts');
    expect(await storage.size('final/x.ts')).toBe(5);
    expect(await storage.size('pending/x.ts')).toBeNull();
    expect((await readAll(storage, 'final/x.ts'))?.toString()).toBe('bytes');
    await expect(storage.put('../escape.ts', Buffer.from('x'))).rejects.toThrow('escapes the root');
    await expect(storage.read('a/../../escape.ts')).rejects.toThrow('escapes the root');
  });

  it('answers null for what is not there, and deletes keys and whole folders only', async () => {
    const storage = make();
    expect(await storage.read('nope/1.ts')).toBeNull();
    expect(await storage.size('nope/1.ts')).toBeNull();
    expect(await storage.withLocalFile('nope/1.ts', async () => 'ran')).toBeNull();
    for (const k of ['a/b/1.ts', 'a/b/2.ts', 'a/b/c/3.ts', 'a/bc/4.ts', 'a/5.ts']) await storage.put(k, Buffer.from(k));
    await storage.deletePrefix('a/b');
    expect(await storage.size('a/b/1.ts')).toBeNull();
    expect(await storage.size('a/b/c/3.ts')).toBeNull();
    expect(await storage.size('a/bc/4.ts')).toBe(9); // a sibling folder that shares the name's start stays
    await storage.delete(['a/5.ts', 'a/missing.ts']);
    expect(await storage.size('a/5.ts')).toBeNull();
    expect(await storage.size('a/bc/4.ts')).toBe(9);
  });

  it('takes in a large file (consuming it) and hands it back as a local file', async () => {
    const storage = make();
    const file = join(root, 'upload.bin');
    const bytes = Buffer.alloc(6 << 20);
    for (let i = 0; i < bytes.length; i += 4096) bytes[i] = i % 251;
    await writeFile(file, bytes);
    await storage.moveIn('asset-sources/x', file);
    await expect(readFile(file)).rejects.toThrow('ENOENT');
    expect(await storage.size('asset-sources/x')).toBe(bytes.length);
    const back = await storage.withLocalFile('asset-sources/x', async (path) => readFile(path));
    expect(back?.equals(bytes)).toBe(true);
  });
});

describe('S3 storage shared by orchestrators', () => {
  it('an object one orchestrator stores is read by another configured with the same bucket and prefix, not by one with another prefix', async () => {
    const first = s3Storage('shared/');
    const second = s3Storage('shared/');
    const other = s3Storage('elsewhere/');
    await first.put('stream/source/1_0.ts', Buffer.from('segment'));
    expect((await readAll(second, 'stream/source/1_0.ts'))?.toString()).toBe('segment');
    expect(await other.size('stream/source/1_0.ts')).toBeNull();
    await second.deletePrefix('stream/');
    expect(await first.size('stream/source/1_0.ts')).toBeNull();
  });

  it('a store that is down or refuses the credentials gives StorageUnavailableError (503) naming the object and the reason, and works again once back', async () => {
    const storage = s3Storage('outage/');
    await storage.put('s/1.ts', Buffer.from('kept'));
    await s3.stop();
    try {
      const err = await storage.put('s/2.ts', Buffer.from('x')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StorageUnavailableError);
      expect((err as StorageUnavailableError).code).toBe('STORAGE_UNAVAILABLE');
      expect((err as StorageUnavailableError).status).toBe(503);
      expect((err as Error).message).toMatch(new RegExp(`PutObject s3://${s3.bucket}/outage/s/2.ts failed: .*ECONNREFUSED`));
      await expect(storage.read('s/1.ts')).rejects.toThrow(/GetObject .*ECONNREFUSED/);
      await expect(storage.size('s/1.ts')).rejects.toBeInstanceOf(StorageUnavailableError);
    } finally {
      await s3.start();
    }
    expect((await readAll(storage, 's/1.ts'))?.toString()).toBe('kept');
    const denied = s3Storage('outage/', { accessKeyId: 'NOT-A-KEY', secretAccessKey: 'wrong' });
    await expect(denied.put('s/3.ts', Buffer.from('x'))).rejects.toThrow(/PutObject .* failed: .*HTTP 403/);
    await expect(denied.check()).rejects.toThrow(/HeadBucket .*HTTP 403/);
    expect(await storage.size('s/3.ts')).toBeNull();
  });
});

describe('local disk storage failures', () => {
  it('a disk that refuses the write gives StorageUnavailableError naming the file, and a missing file is null, not an error', async () => {
    await writeFile(join(root, 'blocker'), 'a file where a folder should be');
    const storage = new LocalDiskStorage(join(root, 'blocker'));
    const err = await storage.put('s/1.ts', Buffer.from('x')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageUnavailableError);
    expect((err as Error).message).toMatch(/segment store: write .*blocker\/s\/1.ts failed: (ENOTDIR|EEXIST)/);
    await expect(storage.check()).rejects.toBeInstanceOf(StorageUnavailableError);
    expect(await new LocalDiskStorage(root).read('s/none.ts')).toBeNull();
  });
});
