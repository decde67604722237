import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import S3rver from 's3rver';

// The SDK's notice that later releases need Node 22 would repeat in every test's output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** s3rver's built-in credentials (it checks request signatures against them). */
export const S3RVER_KEYS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export type TestS3Server = {
  endpoint: string;
  port: number;
  bucket: string;
  /** The orchestrator environment that stores in this server's bucket under `prefix`. */
  env(prefix?: string): Record<string, string>;
  /** Stops the HTTP server (the bucket's files stay, so start() serves them again). */
  stop(): Promise<void>;
  /** Starts it again on the same port. */
  start(): Promise<void>;
  /** Stops it and deletes its files. */
  close(): Promise<void>;
};

/**
 * A real S3-compatible server (s3rver: S3's REST API over HTTP, objects as files) on a free
 * 127.0.0.1 port, with one bucket.
 */
export async function startS3Server(): Promise<TestS3Server> {
  const dir = await mkdtemp(join(tmpdir(), 'segmint-s3-'));
  const bucket = `segmint-${randomUUID().slice(0, 8)}`;
  let server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: dir, configureBuckets: [{ name: bucket }] });
  const { port } = await server.run();
  let running = true;
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    port,
    bucket,
    env: (prefix = '') => ({
      SEGMINT_STORAGE_URL: `s3://${bucket}${prefix ? `/${prefix}` : ''}`,
      SEGMINT_S3_ENDPOINT: endpoint,
      SEGMINT_S3_ACCESS_KEY_ID: S3RVER_KEYS.accessKeyId,
      SEGMINT_S3_SECRET_ACCESS_KEY: S3RVER_KEYS.secretAccessKey,
    }),
    async stop() {
      if (running) await server.close();
      running = false;
    },
    async start() {
      if (running) return;
      server = new S3rver({ port, address: '127.0.0.1', silent: true, directory: dir });
      await server.run();
      running = true;
    },
    async close() {
      if (running) await server.close();
      running = false;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
