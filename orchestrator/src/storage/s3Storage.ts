import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline as pump } from 'node:stream/promises';
import {
  CopyObjectCommand, DeleteObjectCommand, DeleteObjectsCommand, GetObjectCommand, HeadBucketCommand, HeadObjectCommand,
  ListObjectsV2Command, PutObjectCommand, S3Client,
} from '@aws-sdk/client-s3';
import { checkKey, StorageUnavailableError, type SegmentStorage } from './segmentStorage.js';

export type S3StorageParameters = {
  bucket: string;
  /** Prepended to every key: `''` or ending in `/`. */
  prefix: string;
  /** Another store than AWS (MinIO, Ceph, R2, s3rver): its base URL. */
  endpoint?: string;
  region: string;
  /** Both or neither; neither: the SDK's default chain (AWS_* variables, instance role). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** `http://endpoint/bucket/key` instead of `http://bucket.endpoint/key` (what most self-hosted stores need). */
  forcePathStyle: boolean;
};

const notFound = (err: unknown) => {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404;
};

const contentType = (key: string) => (key.endsWith('.ts') ? 'video/mp2t' : 'application/octet-stream');

/**
 * Objects in any S3-compatible store (`@aws-sdk/client-s3`). Every orchestrator configured with the
 * same bucket and prefix sees the same objects, so any of them serves any stream. A PUT is atomic
 * in S3 (readers see the old object or the whole new one) and acknowledged only once stored; each
 * carries its MD5 (Content-MD5) so the store refuses bytes damaged on the way. Failed requests are
 * retried by the SDK (3 attempts, backoff), then surface as StorageUnavailableError.
 */
export class S3Storage implements SegmentStorage {
  readonly location: string;
  private readonly client: S3Client;

  constructor(private readonly o: S3StorageParameters) {
    this.location = `s3://${o.bucket}/${o.prefix}`;
    this.client = new S3Client({
      region: o.region,
      ...(o.endpoint ? { endpoint: o.endpoint } : {}),
      forcePathStyle: o.forcePathStyle,
      ...(o.credentials ? { credentials: o.credentials } : {}),
      // only the checksums a request needs: many S3-compatible stores reject the newer trailing ones
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 3,
      // playback is proxied: many segment reads at once share these connections (the SDK's default is 50)
      requestHandler: { connectionTimeout: 3_000, requestTimeout: 30_000, httpAgent: { keepAlive: true, maxSockets: 256 }, httpsAgent: { keepAlive: true, maxSockets: 256 } },
    });
  }

  private key(key: string): string {
    return this.o.prefix + checkKey(key);
  }

  /** Sends one request, turning a failure (not a 404 when `missingIsNull`) into StorageUnavailableError. */
  private async send<T>(op: string, key: string, fn: () => Promise<T>): Promise<T>;
  private async send<T>(op: string, key: string, fn: () => Promise<T>, missingIsNull: true): Promise<T | null>;
  private async send<T>(op: string, key: string, fn: () => Promise<T>, missingIsNull = false): Promise<T | null> {
    try {
      return await fn();
    } catch (err) {
      if (missingIsNull && notFound(err)) return null;
      throw new StorageUnavailableError(op, `s3://${this.o.bucket}/${key}`, err);
    }
  }

  async check(): Promise<void> {
    await this.send('HeadBucket', '', () => this.client.send(new HeadBucketCommand({ Bucket: this.o.bucket })));
  }

  async put(key: string, bytes: Buffer): Promise<void> {
    const Key = this.key(key);
    const ContentMD5 = createHash('md5').update(bytes).digest('base64');
    await this.send('PutObject', Key, () =>
      this.client.send(new PutObjectCommand({ Bucket: this.o.bucket, Key, Body: bytes, ContentLength: bytes.length, ContentMD5, ContentType: contentType(key) })),
    );
  }

  /** One PUT of the whole file (S3 takes up to 5 GiB in one; SEGMINT_MAX_ASSET_BYTES defaults to 4 GiB). */
  async moveIn(key: string, path: string): Promise<void> {
    const Key = this.key(key);
    const md5 = createHash('md5');
    await pump(createReadStream(path), md5);
    const { size } = await stat(path);
    await this.send('PutObject', Key, () =>
      this.client.send(new PutObjectCommand({ Bucket: this.o.bucket, Key, Body: createReadStream(path), ContentLength: size, ContentMD5: md5.digest('base64'), ContentType: contentType(key) })),
    );
    await rm(path, { force: true });
  }

  async read(key: string): Promise<{ stream: Readable; size: number } | null> {
    const Key = this.key(key);
    const res = await this.send('GetObject', Key, () => this.client.send(new GetObjectCommand({ Bucket: this.o.bucket, Key })), true);
    if (!res) return null;
    return { stream: res.Body as Readable, size: Number(res.ContentLength ?? 0) };
  }

  async size(key: string): Promise<number | null> {
    const Key = this.key(key);
    const res = await this.send('HeadObject', Key, () => this.client.send(new HeadObjectCommand({ Bucket: this.o.bucket, Key })), true);
    return res ? Number(res.ContentLength ?? 0) : null;
  }

  async withLocalFile<T>(key: string, fn: (path: string) => Promise<T>): Promise<T | null> {
    const obj = await this.read(key);
    if (!obj) return null;
    const dir = await mkdtemp(join(tmpdir(), 'segmint-s3-'));
    try {
      const path = join(dir, randomBytes(6).toString('hex'));
      await this.send('GetObject (body)', this.key(key), () => pump(obj.stream, createWriteStream(path)));
      return await fn(path);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** Copy then delete (S3 has no rename); the destination is whole before the source goes. */
  async move(from: string, to: string): Promise<void> {
    const src = this.key(from);
    const Key = this.key(to);
    const CopySource = encodeURI(`${this.o.bucket}/${src}`);
    await this.send('CopyObject', `${src} → ${Key}`, () => this.client.send(new CopyObjectCommand({ Bucket: this.o.bucket, Key, CopySource })));
    await this.send('DeleteObject', src, () => this.client.send(new DeleteObjectCommand({ Bucket: this.o.bucket, Key: src })));
  }

  async delete(keys: readonly string[]): Promise<void> {
    const all = keys.map((k) => this.key(k));
    for (let i = 0; i < all.length; i += 1000) await this.deleteBatch(all.slice(i, i + 1000));
  }

  private async deleteBatch(Keys: string[]): Promise<void> {
    if (Keys.length === 0) return;
    const res = await this.send('DeleteObjects', Keys[0]!, () =>
      this.client.send(new DeleteObjectsCommand({ Bucket: this.o.bucket, Delete: { Objects: Keys.map((Key) => ({ Key })), Quiet: true } })),
    );
    const failed = (res.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
    if (failed.length > 0) throw new StorageUnavailableError('DeleteObjects', `s3://${this.o.bucket}/${failed[0]!.Key}`, { code: failed[0]!.Code, message: failed[0]!.Message });
  }

  async deletePrefix(prefix: string): Promise<void> {
    const Prefix = this.key(prefix.endsWith('/') ? prefix : `${prefix}/`);
    let ContinuationToken: string | undefined;
    do {
      const page = await this.send('ListObjectsV2', `${Prefix}*`, () => this.client.send(new ListObjectsV2Command({ Bucket: this.o.bucket, Prefix, ContinuationToken })));
      await this.deleteBatch((page.Contents ?? []).map((c) => c.Key!).filter(Boolean));
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (ContinuationToken);
  }

  close(): void {
    this.client.destroy();
  }
}
