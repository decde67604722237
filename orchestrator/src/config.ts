import { resolve } from 'node:path';
import { networkEnv } from '@segmint/protocol';
import { parseRtmpKnobs, RTMP_KNOBS, type RtmpConfig } from './rtmp/rtmpConfig.js';
import { parseWebhookKnobs, WEBHOOK_KNOBS, type WebhookConfig } from './webhooks/webhookConfig.js';
import { API_KNOBS, parseApiKnobs, type ApiConfig } from './api/apiConfig.js';
import { workerRedisUrl } from './marketplace/workerAcl.js';
import { PAYMENT_KNOBS, parsePaymentKnobs, type PaymentConfig } from './payments/paymentsConfig.js';
import { EDGE_KNOBS, parseEdgeKnobs, type EdgeConfig } from './edges/edgesConfig.js';
import { parseStorageKnobs, STORAGE_KNOBS, type StorageConfig } from './storage/storageConfig.js';

/**
 * Every orchestrator knob: environment variable, CLI flag that overrides it, default, meaning.
 * README lists them all (a test checks).
 */
export const ORCHESTRATOR_KNOBS = {
  httpPort: { env: 'SEGMINT_HTTP_PORT', flag: '--http-port', default: '8935', help: 'HTTP port: API, push ingest, HLS, worker uploads, metrics' },
  httpHost: { env: 'SEGMINT_HTTP_HOST', flag: '--http-host', default: '127.0.0.1', help: 'Interface to listen on (0.0.0.0 for all)' },
  publicUrl: { env: 'SEGMINT_PUBLIC_URL', flag: '--public-url', default: '', help: 'Base URL workers and viewers reach this orchestrator at (default http://HOST:PORT)' },
  redisUrl: { env: 'REDIS_URL', flag: '--redis-url', default: 'redis://127.0.0.1:6379', help: 'Redis for queues and live state' },
  redisCluster: { env: 'SEGMINT_REDIS_CLUSTER', flag: '--redis-cluster', default: '0', help: '1: REDIS_URL names a node of a Redis Cluster (the client discovers the others; README "Running at scale")' },
  redisPrefix: { env: 'SEGMINT_REDIS_PREFIX', flag: '--redis-prefix', default: 'segmint', help: 'Prefix of every Redis key and queue' },
  databaseUrl: { env: 'DATABASE_URL', flag: '--database-url', default: '', help: 'PostgreSQL URL; empty: embedded PGlite under DATA_DIR/pglite' },
  dataDir: { env: 'DATA_DIR', flag: '--data-dir', default: '.data', help: 'Segments (DATA_DIR/segments, unless SEGMINT_STORAGE_URL says otherwise), the embedded database, tus upload parts' },
  ...STORAGE_KNOBS,
  secret: { env: 'SEGMINT_SECRET', flag: '--secret', default: '', help: 'Signs job tokens and token-gate grants; every orchestrator on one Redis prefix needs the same one (default: generated once into DATA_DIR/secret)' },
  segmentSigningKey: { env: 'SEGMINT_SEGMENT_SIGNING_KEY', flag: '--segment-signing-key', default: '', help: 'Private key (0x…) that signs the segment hash sidecars players check peer segments against (default: derived from the deployment secret, so every orchestrator of a deployment signs alike)' },
  hlsWindow: { env: 'SEGMINT_HLS_WINDOW', flag: '--hls-window', default: '6', help: 'Segments listed in a live media playlist' },
  hlsRetain: { env: 'SEGMINT_HLS_RETAIN', flag: '--hls-retain', default: '12', help: 'Segments kept on disk beyond the live window before deletion' },
  idleTimeoutSec: { env: 'SEGMINT_IDLE_TIMEOUT', flag: '--idle-timeout', default: '30', help: 'Seconds without a segment before a live session ends (EXT-X-ENDLIST)' },
  maxSegmentBytes: { env: 'SEGMINT_MAX_SEGMENT_BYTES', flag: '--max-segment-bytes', default: String(32 * 1024 * 1024), help: 'Largest pushed or uploaded segment (413 above)' },
  attempts: { env: 'SEGMINT_JOB_ATTEMPTS', flag: '--job-attempts', default: '3', help: 'Workers tried per segment (after a miss or failure) before it is skipped (discontinuity)' },
  minStake: { env: 'SEGMINT_MIN_STAKE', flag: '--min-stake', default: '0', help: 'Wei a worker must have bonded to win segments' },
  maxPricePerPixel: { env: 'SEGMINT_MAX_PRICE_PER_PIXEL', flag: '--max-price-per-pixel', default: '1000000000', help: 'Highest ask (wei per pixel) the auction accepts' },
  deadlineFactor: { env: 'SEGMINT_DEADLINE_FACTOR', flag: '--deadline-factor', default: '1.5', help: 'A worker has duration × this to return a segment, then it is re-auctioned' },
  deadlineMinMs: { env: 'SEGMINT_DEADLINE_MIN_MS', flag: '--deadline-min-ms', default: '1000', help: 'Shortest deadline, for very short segments' },
  dispatchWaitMs: { env: 'SEGMINT_DISPATCH_WAIT_MS', flag: '--dispatch-wait-ms', default: '30000', help: 'A segment no worker can take for this long is skipped' },
  heartbeatTtlMs: { env: 'SEGMINT_HEARTBEAT_TTL_MS', flag: '--heartbeat-ttl-ms', default: '3000', help: 'A worker without a heartbeat for this long wins nothing (workers beat at a third of it)' },
  chainRpcUrl: { env: 'CHAIN_RPC_URL', flag: '--chain-rpc-url', default: '', help: 'EVM JSON-RPC URL; with SEGMINT_STAKING_MANAGER, worker stake is read on-chain (else nobody has stake)' },
  stakingManager: { env: 'SEGMINT_STAKING_MANAGER', flag: '--staking-manager', default: '', help: 'StakingManager contract address' },
  verifierKey: { env: 'SEGMINT_VERIFIER_KEY', flag: '--verifier-key', default: '', help: 'Private key holding VERIFIER_ROLE on StakingManager: workers proven wrong by spot-checks are slashed on-chain (else only penalised)' },
  stakeCacheMs: { env: 'SEGMINT_STAKE_CACHE_MS', flag: '--stake-cache-ms', default: '10000', help: 'How long a worker\'s on-chain stake is cached' },
  stakeMaxStaleMs: { env: 'SEGMINT_STAKE_MAX_STALE_MS', flag: '--stake-max-stale-ms', default: '120000', help: 'While stake reads fail (chain RPC down), a worker\'s last known stake is used this much longer past SEGMINT_STAKE_CACHE_MS; then the worker wins nothing until a read succeeds (auctions go on with the others)' },
  spotCheckRate: { env: 'SEGMINT_SPOTCHECK_RATE', flag: '--spotcheck-rate', default: '0.05', help: 'Fraction of accepted segments re-transcoded by a second worker with the same encoder fingerprint and compared' },
  testSpotCheckSeed: { env: 'SEGMINT_TEST_SPOTCHECK_SEED', flag: '--test-spotcheck-seed', default: '', help: 'Tests only: sample spot-checks from this seed and the job id (predictable: never in production)' },
  cheaterExcludeSec: { env: 'SEGMINT_CHEATER_EXCLUDE_SEC', flag: '--cheater-exclude-sec', default: String(30 * 86_400), help: 'How long a worker proven by a spot-check to cheat gets no jobs (its unchecked segments are redone)' },
  ssimExcludeSec: { env: 'SEGMINT_SSIM_EXCLUDE_SEC', flag: '--ssim-exclude-sec', default: '3600', help: 'How long a worker that failed a quality check gets no jobs' },
  hardContentSec: { env: 'SEGMINT_HARD_CONTENT_SEC', flag: '--hard-content-sec', default: '600', help: 'After a quality check found a stream\'s content too hard to judge, how long every result of it that cannot be compared bit for bit is checked' },
  qualityCheckRate: { env: 'SEGMINT_QUALITY_CHECK_RATE', flag: '--quality-check-rate', default: '', help: 'Fraction of results that cannot be compared bit for bit (NVENC, other builds) checked for quality; default 3 × the spot-check rate, at most 1' },
  maxPendingChecks: { env: 'SEGMINT_MAX_PENDING_CHECKS', flag: '--max-pending-checks', default: '2', help: 'A worker with this many sampled results still being checked wins no work until they conclude' },
  checkConcurrency: { env: 'SEGMINT_CHECK_CONCURRENCY', flag: '--check-concurrency', default: '1', help: 'Checks this orchestrator runs itself at once (reference re-transcodes, quality checks)' },
  auditRetentionSec: { env: 'SEGMINT_AUDIT_RETENTION_SEC', flag: '--audit-retention-sec', default: String(7 * 86_400), help: 'How long the audit record of a published segment is kept (at least the unbonding period)' },
  workerRedisUrl: { env: 'SEGMINT_WORKER_REDIS_URL', flag: '--worker-redis-url', default: '', help: 'Redis URL handed to workers with their own ACL user (no credentials in it; default REDIS_URL without its credentials)' },
  workerExpireSec: { env: 'SEGMINT_WORKER_EXPIRE_SEC', flag: '--worker-expire-sec', default: '86400', help: 'A worker neither registering nor heartbeating for this long is forgotten (registration, performance, Redis ACL user)' },
  registerRateLimit: { env: 'SEGMINT_REGISTER_RATE_LIMIT', flag: '--register-rate-limit', default: '10', help: 'Signed registrations per minute per worker address (then 429 REGISTRATION_RATE_LIMITED; 0: no limit)' },
  registerIpRateLimit: { env: 'SEGMINT_REGISTER_IP_RATE_LIMIT', flag: '--register-ip-rate-limit', default: '60', help: 'Registrations per minute per client IP address (then 429 REGISTRATION_RATE_LIMITED; 0: no limit)' },
  network: { env: 'SEGMINT_NETWORK', flag: '--network', default: '', help: 'Chain by name (anvil, base-sepolia, arbitrum-sepolia): CHAIN_RPC_URL, SEGMINT_CHAIN_ID, SEGMINT_STAKING_MANAGER and SEGMINT_TICKET_BROKER default to its deployment file, SEGMINT_DEPLOYMENTS_DIR/NAME.json' },
  deploymentsDir: { env: 'SEGMINT_DEPLOYMENTS_DIR', flag: '--deployments-dir', default: '', help: 'Where the deployment files of SEGMINT_NETWORK are (default deploy/chains in the repository)' },
  chainId: { env: 'SEGMINT_CHAIN_ID', flag: '--chain-id', default: '31337', help: 'EIP-712 chain id of registrations (and of the staking contract)' },
  ...RTMP_KNOBS,
  ...WEBHOOK_KNOBS,
  ...API_KNOBS,
  ...PAYMENT_KNOBS,
  ...EDGE_KNOBS,
  logLevel: { env: 'LOG_LEVEL', flag: '--log-level', default: 'info', help: 'pino log level' },
} as const;

export type OrchestratorConfig = {
  httpPort: number;
  httpHost: string;
  publicUrl: string;
  redisUrl: string;
  /** REDIS_URL is a node of a Redis Cluster. */
  redisCluster: boolean;
  redisPrefix: string;
  databaseUrl: string | undefined;
  dataDir: string;
  /** Where media lives: a local directory or an S3-compatible store. */
  storage: StorageConfig;
  /** SEGMINT_SECRET; empty until startOrchestrator reads or creates DATA_DIR/secret. */
  secret: string;
  hlsWindow: number;
  hlsRetain: number;
  idleTimeoutSec: number;
  maxSegmentBytes: number;
  attempts: number;
  minStake: bigint;
  maxPricePerPixel: bigint;
  deadlineFactor: number;
  deadlineMinMs: number;
  dispatchWaitMs: number;
  heartbeatTtlMs: number;
  /** Redis URL (without credentials) workers connect to with their own ACL user. */
  workerRedisUrl: string;
  workerExpireSec: number;
  registerRateLimit: { perAddress: number; perIp: number };
  chainId: number;
  chainRpcUrl: string | undefined;
  stakingManager: `0x${string}` | undefined;
  stakeCacheMs: number;
  stakeMaxStaleMs: number;
  verifierKey: `0x${string}` | undefined;
  segmentSigningKey: `0x${string}` | undefined;
  testSpotCheckSeed?: string;
  cheaterExcludeSec: number;
  ssimExcludeSec: number;
  hardContentSec: number;
  auditRetentionSec: number;
  spotCheckRate: number;
  qualityCheckRate: number;
  maxPendingChecks: number;
  checkConcurrency: number;
  rtmp: RtmpConfig;
  webhooks: WebhookConfig;
  api: ApiConfig;
  payments: PaymentConfig;
  edges: EdgeConfig;
  logLevel: string;
};

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Reads a knob table from flags (`--flag value` or `--flag=value`), then env, then defaults. */
export function readKnobs<K extends string>(
  knobs: Record<K, { env: string; flag: string; default: string }>,
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): Record<K, string> {
  const out = {} as Record<K, string>;
  for (const [name, k] of Object.entries(knobs) as [K, { env: string; flag: string; default: string }][]) {
    let value: string | undefined;
    argv.forEach((a, i) => {
      if (a === k.flag) value = argv[i + 1];
      else if (a.startsWith(`${k.flag}=`)) value = a.slice(k.flag.length + 1);
    });
    out[name] = value ?? env[k.env] ?? k.default;
  }
  return out;
}

const int = (name: string, v: string, min: number, max: number) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`${name} must be an integer from ${min} to ${max} (got "${v}")`);
  return n;
};

const num = (name: string, v: string, min: number, max: number) => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < min || n > max) throw new ConfigError(`${name} must be a number from ${min} to ${max} (got "${v}")`);
  return n;
};

/** Wei amounts are decimal integers (bigint: money never passes through a float). */
const wei = (name: string, v: string) => {
  if (!/^[0-9]{1,78}$/.test(v)) throw new ConfigError(`${name} must be a whole number of wei (got "${v}")`);
  return BigInt(v);
};

const flag01 = (name: string, v: string) => {
  if (v !== '0' && v !== '1') throw new ConfigError(`${name} must be 0 or 1 (got "${v}")`);
  return v === '1';
};

const address = (name: string, v: string) => {
  if (v === '') return undefined;
  if (!/^0x[0-9a-fA-F]{40}$/.test(v)) throw new ConfigError(`${name} must be a 0x-prefixed 20-byte address (got "${v}")`);
  return v as `0x${string}`;
};

const privateKey = (name: string, v: string) => {
  if (v === '') return undefined;
  if (!/^0x[0-9a-fA-F]{64}$/.test(v)) throw new ConfigError(`${name} must be a 0x-prefixed 32-byte private key`);
  return v as `0x${string}`;
};

const redisUrlForWorkers = (own: string, configured: string) => {
  try {
    return workerRedisUrl(own, configured);
  } catch {
    throw new ConfigError(`${configured ? 'SEGMINT_WORKER_REDIS_URL' : 'REDIS_URL'} must be a redis:// or rediss:// URL (got "${configured || own}")`);
  }
};

/**
 * `env` with the chain settings of SEGMINT_NETWORK's deployment file filled in where `env` leaves
 * them unset or empty (a variable given explicitly wins).
 */
export function withNetworkEnv(argv: readonly string[], env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { network, deploymentsDir } = readKnobs({ network: ORCHESTRATOR_KNOBS.network, deploymentsDir: ORCHESTRATOR_KNOBS.deploymentsDir }, argv, env);
  if (!network) return env;
  let fromFile: Record<string, string>;
  try {
    fromFile = networkEnv(network, deploymentsDir || undefined);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  const out = { ...env };
  for (const [name, value] of Object.entries(fromFile)) if (!out[name]) out[name] = value;
  return out;
}

export function loadOrchestratorConfig(argv: readonly string[] = [], given: NodeJS.ProcessEnv = process.env): OrchestratorConfig {
  const env = withNetworkEnv(argv, given);
  const k = readKnobs(ORCHESTRATOR_KNOBS, argv, env);
  const httpPort = int('SEGMINT_HTTP_PORT', k.httpPort, 0, 65535);
  return {
    httpPort,
    httpHost: k.httpHost,
    publicUrl: k.publicUrl.replace(/\/$/, ''),
    redisUrl: k.redisUrl,
    redisCluster: flag01('SEGMINT_REDIS_CLUSTER', k.redisCluster),
    redisPrefix: k.redisPrefix,
    databaseUrl: k.databaseUrl || undefined,
    dataDir: resolve(k.dataDir),
    storage: parseStorageKnobs(k, resolve(k.dataDir), (message) => {
      throw new ConfigError(message);
    }),
    // Empty: read from (or generated once into) DATA_DIR/secret at start, see auth/deploymentSecret.ts.
    secret: k.secret,
    hlsWindow: int('SEGMINT_HLS_WINDOW', k.hlsWindow, 2, 100),
    hlsRetain: int('SEGMINT_HLS_RETAIN', k.hlsRetain, 0, 100_000),
    idleTimeoutSec: int('SEGMINT_IDLE_TIMEOUT', k.idleTimeoutSec, 1, 86_400),
    maxSegmentBytes: int('SEGMINT_MAX_SEGMENT_BYTES', k.maxSegmentBytes, 1024, 1024 ** 3),
    attempts: int('SEGMINT_JOB_ATTEMPTS', k.attempts, 1, 20),
    minStake: wei('SEGMINT_MIN_STAKE', k.minStake),
    maxPricePerPixel: wei('SEGMINT_MAX_PRICE_PER_PIXEL', k.maxPricePerPixel),
    deadlineFactor: num('SEGMINT_DEADLINE_FACTOR', k.deadlineFactor, 0.1, 100),
    deadlineMinMs: int('SEGMINT_DEADLINE_MIN_MS', k.deadlineMinMs, 100, 600_000),
    dispatchWaitMs: int('SEGMINT_DISPATCH_WAIT_MS', k.dispatchWaitMs, 100, 3_600_000),
    heartbeatTtlMs: int('SEGMINT_HEARTBEAT_TTL_MS', k.heartbeatTtlMs, 300, 600_000),
    workerRedisUrl: redisUrlForWorkers(k.redisUrl, k.workerRedisUrl),
    workerExpireSec: int('SEGMINT_WORKER_EXPIRE_SEC', k.workerExpireSec, 10, 365 * 86_400),
    registerRateLimit: {
      perAddress: int('SEGMINT_REGISTER_RATE_LIMIT', k.registerRateLimit, 0, 1_000_000),
      perIp: int('SEGMINT_REGISTER_IP_RATE_LIMIT', k.registerIpRateLimit, 0, 1_000_000),
    },
    chainId: int('SEGMINT_CHAIN_ID', k.chainId, 1, 2 ** 48),
    chainRpcUrl: k.chainRpcUrl || undefined,
    stakingManager: address('SEGMINT_STAKING_MANAGER', k.stakingManager),
    stakeCacheMs: int('SEGMINT_STAKE_CACHE_MS', k.stakeCacheMs, 0, 3_600_000),
    stakeMaxStaleMs: int('SEGMINT_STAKE_MAX_STALE_MS', k.stakeMaxStaleMs, 0, 86_400_000),
    verifierKey: privateKey('SEGMINT_VERIFIER_KEY', k.verifierKey),
    segmentSigningKey: privateKey('SEGMINT_SEGMENT_SIGNING_KEY', k.segmentSigningKey),
    spotCheckRate: num('SEGMINT_SPOTCHECK_RATE', k.spotCheckRate, 0, 1),
    testSpotCheckSeed: k.testSpotCheckSeed || undefined,
    cheaterExcludeSec: int('SEGMINT_CHEATER_EXCLUDE_SEC', k.cheaterExcludeSec, 0, 365 * 86_400),
    ssimExcludeSec: int('SEGMINT_SSIM_EXCLUDE_SEC', k.ssimExcludeSec, 0, 30 * 86_400),
    hardContentSec: int('SEGMINT_HARD_CONTENT_SEC', k.hardContentSec, 0, 86_400),
    qualityCheckRate: k.qualityCheckRate === '' ? Math.min(1, 3 * num('SEGMINT_SPOTCHECK_RATE', k.spotCheckRate, 0, 1)) : num('SEGMINT_QUALITY_CHECK_RATE', k.qualityCheckRate, 0, 1),
    maxPendingChecks: int('SEGMINT_MAX_PENDING_CHECKS', k.maxPendingChecks, 1, 1000),
    checkConcurrency: int('SEGMINT_CHECK_CONCURRENCY', k.checkConcurrency, 0, 64),
    auditRetentionSec: int('SEGMINT_AUDIT_RETENTION_SEC', k.auditRetentionSec, 60, 10 * 365 * 86_400),
    rtmp: parseRtmpKnobs(k, int, k.httpHost),
    webhooks: parseWebhookKnobs(k, int),
    api: parseApiKnobs(k, int),
    payments: parsePaymentKnobs(k, int, wei, address),
    edges: parseEdgeKnobs(k, int, num, wei),
    logLevel: k.logLevel,
  };
}
