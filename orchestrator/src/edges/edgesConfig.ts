/**
 * Edge delivery knobs. Part of ORCHESTRATOR_KNOBS (config.ts spreads them in). No imports from
 * config.ts: it imports this file.
 */
export const EDGE_KNOBS = {
  edgePricePerByte: { env: 'SEGMINT_EDGE_PRICE_PER_BYTE', flag: '--edge-price-per-byte', default: '1000', help: 'Wei an edge is paid per byte a viewer verified and signed a receipt for (within the session\'s cap)' },
  edgeMinStake: { env: 'SEGMINT_EDGE_MIN_STAKE', flag: '--edge-min-stake', default: '0', help: 'Wei an edge must have bonded on StakingManager to get viewers' },
  edgeHeartbeatTtlMs: { env: 'SEGMINT_EDGE_HEARTBEAT_TTL_MS', flag: '--edge-heartbeat-ttl-ms', default: '6000', help: 'An edge without a heartbeat for this long gets no viewers (edges beat at a third of it)' },
  edgeSessionIdleSec: { env: 'SEGMINT_EDGE_SESSION_IDLE_SEC', flag: '--edge-session-idle-sec', default: '60', help: 'A viewer session with no accepted receipt for this long ends (its load leaves the edge; later receipts pay nothing)' },
  edgeCapFactor: { env: 'SEGMINT_EDGE_CAP_FACTOR', flag: '--edge-cap-factor', default: '1.5', help: 'A viewer session vouches for at most this × the stream\'s top measured bitrate × (wall time + SEGMINT_EDGE_CAP_SLACK_SEC)' },
  edgeCapSlackSec: { env: 'SEGMINT_EDGE_CAP_SLACK_SEC', flag: '--edge-cap-slack-sec', default: '12', help: 'Seconds of the top bitrate a session may vouch for at once when it starts (the player loads a few segments ahead)' },
  edgeMysteryIntervalMs: { env: 'SEGMINT_EDGE_MYSTERY_INTERVAL_MS', flag: '--edge-mystery-interval-ms', default: '10000', help: 'How often the mystery viewer fetches a random segment from each edge and compares its hash and latency (0: never)' },
  edgeMaxLatencyMs: { env: 'SEGMINT_EDGE_MAX_LATENCY_MS', flag: '--edge-max-latency-ms', default: '2000', help: 'A mystery fetch slower than this (or failing) counts against the edge; three in a row and it gets no new viewers until one passes' },
  edgeExcludeSec: { env: 'SEGMINT_EDGE_EXCLUDE_SEC', flag: '--edge-exclude-sec', default: String(30 * 86_400), help: 'How long an edge proven to serve wrong bytes gets no viewers and no payment' },
  edgeSessionRateLimit: { env: 'SEGMINT_EDGE_SESSION_RATE_LIMIT', flag: '--edge-session-rate-limit', default: '30', help: 'Viewer sessions per minute per client IP (then 429 RATE_LIMITED; 0: no limit)' },
} as const;

export type EdgeConfig = {
  pricePerByte: bigint;
  minStake: bigint;
  heartbeatTtlMs: number;
  sessionIdleSec: number;
  capFactor: number;
  capSlackSec: number;
  mysteryIntervalMs: number;
  maxLatencyMs: number;
  excludeSec: number;
  sessionRateLimit: number;
};

type IntParser = (name: string, v: string, min: number, max: number) => number;
type NumParser = (name: string, v: string, min: number, max: number) => number;
type WeiParser = (name: string, v: string) => bigint;

export function parseEdgeKnobs(k: Record<keyof typeof EDGE_KNOBS, string>, int: IntParser, num: NumParser, wei: WeiParser): EdgeConfig {
  return {
    pricePerByte: wei('SEGMINT_EDGE_PRICE_PER_BYTE', k.edgePricePerByte),
    minStake: wei('SEGMINT_EDGE_MIN_STAKE', k.edgeMinStake),
    heartbeatTtlMs: int('SEGMINT_EDGE_HEARTBEAT_TTL_MS', k.edgeHeartbeatTtlMs, 300, 600_000),
    sessionIdleSec: int('SEGMINT_EDGE_SESSION_IDLE_SEC', k.edgeSessionIdleSec, 5, 86_400),
    capFactor: num('SEGMINT_EDGE_CAP_FACTOR', k.edgeCapFactor, 1, 10),
    capSlackSec: int('SEGMINT_EDGE_CAP_SLACK_SEC', k.edgeCapSlackSec, 0, 600),
    mysteryIntervalMs: int('SEGMINT_EDGE_MYSTERY_INTERVAL_MS', k.edgeMysteryIntervalMs, 0, 3_600_000),
    maxLatencyMs: int('SEGMINT_EDGE_MAX_LATENCY_MS', k.edgeMaxLatencyMs, 10, 600_000),
    excludeSec: int('SEGMINT_EDGE_EXCLUDE_SEC', k.edgeExcludeSec, 0, 365 * 86_400),
    sessionRateLimit: int('SEGMINT_EDGE_SESSION_RATE_LIMIT', k.edgeSessionRateLimit, 0, 1_000_000),
  };
}
