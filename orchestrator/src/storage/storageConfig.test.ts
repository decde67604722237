import { join } from 'node:path';
import { startS3Server, S3RVER_KEYS } from '../../../e2e/s3Server.js';
import { ConfigError, loadOrchestratorConfig } from '../config.js';
import { openStorage } from './openStorage.js';

const load = (env: Record<string, string>) => loadOrchestratorConfig([], { DATA_DIR: '/srv/segmint', ...env }).storage;

describe('storage configuration', () => {
  it('defaults to DATA_DIR/segments; a path is a local directory; s3:// names a bucket and an optional prefix', () => {
    expect(load({})).toEqual({ kind: 'local', directory: join('/srv/segmint', 'segments') });
    expect(load({ SEGMINT_STORAGE_URL: '/mnt/media' })).toEqual({ kind: 'local', directory: '/mnt/media' });
    expect(load({ SEGMINT_STORAGE_URL: 's3://media-bucket' })).toMatchObject({ kind: 's3', bucket: 'media-bucket', prefix: '', region: 'us-east-1', endpoint: undefined, forcePathStyle: false, credentials: undefined });
    expect(load({ SEGMINT_STORAGE_URL: 's3://media-bucket/live/eu/', SEGMINT_S3_ENDPOINT: 'http://127.0.0.1:9000', SEGMINT_S3_ACCESS_KEY_ID: 'id', SEGMINT_S3_SECRET_ACCESS_KEY: 'secret' }))
      .toEqual({ kind: 's3', bucket: 'media-bucket', prefix: 'live/eu/', endpoint: 'http://127.0.0.1:9000', region: 'us-east-1', credentials: { accessKeyId: 'id', secretAccessKey: 'secret' }, forcePathStyle: true });
    expect(load({ SEGMINT_STORAGE_URL: 's3://media-bucket', SEGMINT_S3_ENDPOINT: 'http://127.0.0.1:9000', SEGMINT_S3_FORCE_PATH_STYLE: 'false' })).toMatchObject({ forcePathStyle: false });
    expect(loadOrchestratorConfig(['--storage-url', 's3://flag-bucket/p'], { SEGMINT_STORAGE_URL: 's3://env-bucket' }).storage).toMatchObject({ bucket: 'flag-bucket', prefix: 'p/' });
  });

  it.each([
    [{ SEGMINT_STORAGE_URL: 'gs://bucket' }, /must be s3:\/\/BUCKET\/optional\/prefix or a directory path/],
    [{ SEGMINT_STORAGE_URL: 's3://Bad_Bucket' }, /not a valid bucket name/],
    [{ SEGMINT_STORAGE_URL: 's3://bucket/../x' }, /may not contain \. or \.\./],
    [{ SEGMINT_STORAGE_URL: 's3://bucket', SEGMINT_S3_ACCESS_KEY_ID: 'id' }, /go together/],
    [{ SEGMINT_STORAGE_URL: 's3://bucket', SEGMINT_S3_ENDPOINT: '127.0.0.1:9000' }, /SEGMINT_S3_ENDPOINT must be an http/],
    [{ SEGMINT_STORAGE_URL: 's3://bucket', SEGMINT_S3_FORCE_PATH_STYLE: 'maybe' }, /SEGMINT_S3_FORCE_PATH_STYLE must be true or false/],
  ])('refuses %j with a ConfigError', (env, message) => {
    expect(() => load(env)).toThrow(ConfigError);
    expect(() => load(env)).toThrow(message);
  });

  it('an orchestrator does not start on a store it cannot use, and says which and why', async () => {
    const s3 = await startS3Server();
    try {
      const base = { kind: 's3' as const, prefix: 'p/', endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true };
      const ok = await openStorage({ ...base, bucket: s3.bucket, credentials: S3RVER_KEYS });
      ok.close?.();
      await expect(openStorage({ ...base, bucket: 'no-such-bucket', credentials: S3RVER_KEYS }))
        .rejects.toThrow(/cannot use the segment store s3:\/\/no-such-bucket\/p\/: segment store: HeadBucket .*HTTP 404.*does the bucket exist/);
      await expect(openStorage({ ...base, bucket: s3.bucket, credentials: { accessKeyId: 'NOT-A-KEY', secretAccessKey: 'x' } }))
        .rejects.toThrow(/HeadBucket .*HTTP 403/);
    } finally {
      await s3.close();
    }
  });
});
