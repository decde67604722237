import { LocalDiskStorage } from './localDiskStorage.js';
import { S3Storage } from './s3Storage.js';
import type { SegmentStorage } from './segmentStorage.js';
import type { StorageConfig } from './storageConfig.js';

/** The configured backend, checked usable (local: the directory is writable; S3: the bucket answers). */
export async function openStorage(config: StorageConfig): Promise<SegmentStorage> {
  const storage: SegmentStorage = config.kind === 'local' ? new LocalDiskStorage(config.directory) : new S3Storage(config);
  try {
    await storage.check();
  } catch (err) {
    storage.close?.();
    const hint = config.kind === 's3' ? ' (is the store up, does the bucket exist, may these credentials read and write it?)' : '';
    throw new Error(`cannot use the segment store ${storage.location}: ${(err as Error).message}${hint}`, { cause: err });
  }
  return storage;
}
