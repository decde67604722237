import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalDiskStorage } from './segmentStorage.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'segmint-storage-'));
});
afterEach(() => rm(root, { recursive: true, force: true }));

describe('LocalDiskStorage', () => {
  it('two concurrent writes to one key both succeed and leave one whole object, no temp file', async () => {
    const storage = new LocalDiskStorage(root);
    const a = Buffer.alloc(4 << 20, 0xaa);
    const b = Buffer.alloc(3 << 20, 0xbb);
    for (let i = 0; i < 10; i++) {
      const key = `s/source/1_${i}.ts`;
      await Promise.all([storage.put(key, a), storage.put(key, b)]);
      const got = await readFile(join(root, key));
      expect(got.equals(a) || got.equals(b)).toBe(true);
    }
    expect((await readdir(join(root, 's/source'))).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('moves an object into place and refuses keys that escape the root', async () => {
    const storage = new LocalDiskStorage(root);
    await storage.put('pending/x.ts', Buffer.from('bytes'));
    await storage.move('pending/x.ts', 'final/x.ts');
    expect(await storage.size('final/x.ts')).toBe(5);
    expect(await storage.size('pending/x.ts')).toBeNull();
    await expect(storage.put('../escape.ts', Buffer.from('x'))).rejects.toThrow('escapes the root');
  });
});
