/**
 * Integrator API knobs. Part of ORCHESTRATOR_KNOBS (config.ts spreads them in). No imports from
 * config.ts: it imports this file.
 */
export const API_KNOBS = {
  apiRateLimit: { env: 'SEGMINT_API_RATE_LIMIT', flag: '--api-rate-limit', default: '600', help: 'API requests per minute per API key (then 429 RATE_LIMITED with Retry-After; 0: no limit)' },
  maxAssetBytes: { env: 'SEGMINT_MAX_ASSET_BYTES', flag: '--max-asset-bytes', default: String(4 * 1024 ** 3), help: 'Largest asset file uploaded or imported (413 above)' },
} as const;

export type ApiConfig = { rateLimitPerMinute: number; maxAssetBytes: number };

type IntParser = (name: string, v: string, min: number, max: number) => number;

export function parseApiKnobs(k: Record<keyof typeof API_KNOBS, string>, int: IntParser): ApiConfig {
  return {
    rateLimitPerMinute: int('SEGMINT_API_RATE_LIMIT', k.apiRateLimit, 0, 10_000_000),
    maxAssetBytes: int('SEGMINT_MAX_ASSET_BYTES', k.maxAssetBytes, 1024, 2 ** 50),
  };
}
