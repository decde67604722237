import { isAbsolute, join, resolve } from 'node:path';

/**
 * Segment storage knobs. Part of ORCHESTRATOR_KNOBS (config.ts spreads them in). No imports from
 * config.ts: it imports this file. The names are fixed (deploy manifests use them).
 */
export const STORAGE_KNOBS = {
  storageUrl: { env: 'SEGMINT_STORAGE_URL', flag: '--storage-url', default: '', help: 'Where segments, renditions, recordings and assets live: s3://BUCKET/optional/prefix (an S3-compatible store every orchestrator shares) or a local directory (default DATA_DIR/segments)' },
  s3Endpoint: { env: 'SEGMINT_S3_ENDPOINT', flag: '--s3-endpoint', default: '', help: 'Base URL of an S3-compatible store other than AWS, e.g. http://127.0.0.1:9000 (MinIO); empty: AWS S3' },
  s3Region: { env: 'SEGMINT_S3_REGION', flag: '--s3-region', default: 'us-east-1', help: 'S3 region (signs requests; most self-hosted stores accept us-east-1)' },
  s3AccessKeyId: { env: 'SEGMINT_S3_ACCESS_KEY_ID', flag: '--s3-access-key-id', default: '', help: 'S3 access key id (with SEGMINT_S3_SECRET_ACCESS_KEY; both empty: the AWS SDK default chain, e.g. AWS_ACCESS_KEY_ID or an instance role)' },
  s3SecretAccessKey: { env: 'SEGMINT_S3_SECRET_ACCESS_KEY', flag: '--s3-secret-access-key', default: '', help: 'S3 secret access key' },
  s3ForcePathStyle: { env: 'SEGMINT_S3_FORCE_PATH_STYLE', flag: '--s3-force-path-style', default: '', help: 'true: http://ENDPOINT/BUCKET/KEY URLs (most self-hosted stores); false: virtual-hosted http://BUCKET.ENDPOINT/KEY; default true when SEGMINT_S3_ENDPOINT is set, else false' },
} as const;

export type StorageConfig =
  | { kind: 'local'; directory: string }
  | {
      kind: 's3';
      bucket: string;
      /** '' or ending in '/'. */
      prefix: string;
      endpoint: string | undefined;
      region: string;
      credentials: { accessKeyId: string; secretAccessKey: string } | undefined;
      forcePathStyle: boolean;
    };

type Fail = (message: string) => never;

/** Reads the storage knobs; a local path is resolved against the working directory. */
export function parseStorageKnobs(k: Record<keyof typeof STORAGE_KNOBS, string>, dataDir: string, fail: Fail): StorageConfig {
  const url = k.storageUrl.trim();
  if (url === '') return { kind: 'local', directory: join(dataDir, 'segments') };
  if (!url.startsWith('s3://')) {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) fail(`SEGMINT_STORAGE_URL must be s3://BUCKET/optional/prefix or a directory path (got "${url}")`);
    return { kind: 'local', directory: isAbsolute(url) ? url : resolve(url) };
  }
  const [bucket = '', ...rest] = url.slice('s3://'.length).split('/');
  // S3 bucket naming rules (3–63 lowercase letters, digits, dots, hyphens)
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) fail(`SEGMINT_STORAGE_URL: "${bucket}" is not a valid bucket name (3-63 lowercase letters, digits, dots, hyphens)`);
  const parts = rest.filter(Boolean);
  if (parts.some((p) => p === '.' || p === '..')) fail(`SEGMINT_STORAGE_URL: the prefix may not contain . or .. (got "${url}")`);
  const endpoint = k.s3Endpoint.trim() || undefined;
  if (endpoint && !/^https?:\/\/[^/]+/.test(endpoint)) fail(`SEGMINT_S3_ENDPOINT must be an http:// or https:// URL (got "${endpoint}")`);
  if (!k.s3AccessKeyId !== !k.s3SecretAccessKey) fail('SEGMINT_S3_ACCESS_KEY_ID and SEGMINT_S3_SECRET_ACCESS_KEY go together: set both, or neither (the AWS SDK default chain)');
  if (k.s3Region.trim() === '') fail('SEGMINT_S3_REGION must not be empty');
  return {
    kind: 's3',
    bucket,
    prefix: parts.length ? `${parts.join('/')}/` : '',
    endpoint,
    region: k.s3Region.trim(),
    credentials: k.s3AccessKeyId ? { accessKeyId: k.s3AccessKeyId, secretAccessKey: k.s3SecretAccessKey } : undefined,
    forcePathStyle: bool('SEGMINT_S3_FORCE_PATH_STYLE', k.s3ForcePathStyle, endpoint !== undefined, fail),
  };
}

function bool(name: string, v: string, fallback: boolean, fail: Fail): boolean {
  const s = v.trim().toLowerCase();
  if (s === '') return fallback;
  if (['true', '1', 'yes'].includes(s)) return true;
  if (['false', '0', 'no'].includes(s)) return false;
  return fail(`${name} must be true or false (got "${v}")`);
}
