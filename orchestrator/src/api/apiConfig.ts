/**
 * Integrator API knobs. Part of ORCHESTRATOR_KNOBS (config.ts spreads them in). No imports from
 * config.ts: it imports this file.
 */
export const API_KNOBS = {
  apiRateLimit: { env: 'SEGMINT_API_RATE_LIMIT', flag: '--api-rate-limit', default: '600', help: 'API requests per minute per API key (then 429 RATE_LIMITED with Retry-After; 0: no limit)' },
  allowPrivateUrls: { env: 'SEGMINT_ALLOW_PRIVATE_URLS', flag: '--allow-private-urls', default: '0', help: '1: asset import and webhook URLs may point at loopback/private/link-local addresses (demo, tests); 0 refuses them (SSRF)' },
  trustedUrlHosts: { env: 'SEGMINT_TRUSTED_URL_HOSTS', flag: '--trusted-url-hosts', default: '', help: 'Comma-separated host names exempt from that refusal (e.g. a media server on the private network)' },
  assetLeaseMs: { env: 'SEGMINT_ASSET_LEASE_MS', flag: '--asset-lease-ms', default: '30000', help: 'An asset being processed is taken over by another orchestrator this long after its own stopped renewing its lease' },
  maxAssetBytes: { env: 'SEGMINT_MAX_ASSET_BYTES', flag: '--max-asset-bytes', default: String(4 * 1024 ** 3), help: 'Largest asset file uploaded or imported (413 above)' },
  multistreamBackoffMs: { env: 'SEGMINT_MULTISTREAM_BACKOFF_MS', flag: '--multistream-backoff-ms', default: '1000', help: 'First wait before reconnecting a multistream target that dropped or refused; doubles per failure' },
  multistreamMaxBackoffMs: { env: 'SEGMINT_MULTISTREAM_MAX_BACKOFF_MS', flag: '--multistream-max-backoff-ms', default: '30000', help: 'Longest wait between reconnects to a multistream target' },
  viewFlushMs: { env: 'SEGMINT_VIEW_FLUSH_MS', flag: '--view-flush-ms', default: '10000', help: "A view's playtime is written to the database once this much has gathered (at most this much is lost if the orchestrator dies)" },
} as const;

export type ApiConfig = {
  rateLimitPerMinute: number;
  maxAssetBytes: number;
  /** Fetch from / post to non-public addresses on an integrator's behalf (off: SSRF protection). */
  allowPrivateUrls: boolean;
  /** Host names exempt from that check. */
  trustedUrlHosts: string[];
  /** Lease of an orchestrator on an asset it processes (renewed every third of it). */
  assetLeaseMs: number;
  /** Reconnect backoff of multistream pushes: first wait, and the cap it doubles up to. */
  multistreamBackoffMs: number;
  multistreamMaxBackoffMs: number;
  /** Playtime of a view gathered in Redis before it is written to PostgreSQL. */
  viewFlushMs: number;
};

type IntParser = (name: string, v: string, min: number, max: number) => number;

export function parseApiKnobs(k: Record<keyof typeof API_KNOBS, string>, int: IntParser): ApiConfig {
  return {
    rateLimitPerMinute: int('SEGMINT_API_RATE_LIMIT', k.apiRateLimit, 0, 10_000_000),
    maxAssetBytes: int('SEGMINT_MAX_ASSET_BYTES', k.maxAssetBytes, 1024, 2 ** 50),
    allowPrivateUrls: int('SEGMINT_ALLOW_PRIVATE_URLS', k.allowPrivateUrls, 0, 1) === 1,
    assetLeaseMs: int('SEGMINT_ASSET_LEASE_MS', k.assetLeaseMs, 300, 3_600_000),
    multistreamBackoffMs: int('SEGMINT_MULTISTREAM_BACKOFF_MS', k.multistreamBackoffMs, 10, 3_600_000),
    multistreamMaxBackoffMs: int('SEGMINT_MULTISTREAM_MAX_BACKOFF_MS', k.multistreamMaxBackoffMs, 10, 3_600_000),
    viewFlushMs: int('SEGMINT_VIEW_FLUSH_MS', k.viewFlushMs, 100, 3_600_000),
    trustedUrlHosts: k.trustedUrlHosts.split(',').map((h) => h.trim().toLowerCase()).filter(Boolean),
  };
}
