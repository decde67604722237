/**
 * RTMP ingest knobs. They are part of ORCHESTRATOR_KNOBS (config.ts spreads them in), so the CLI,
 * env and README table treat them like every other knob. No imports from config.ts: it imports
 * this file.
 */
export const RTMP_KNOBS = {
  rtmpPort: { env: 'SEGMINT_RTMP_PORT', flag: '--rtmp-port', default: '1935', help: 'RTMP ingest port (0: any free port; -1: no RTMP server)' },
  rtmpHost: { env: 'SEGMINT_RTMP_HOST', flag: '--rtmp-host', default: '', help: 'Interface RTMP listens on (default: SEGMINT_HTTP_HOST; 0.0.0.0 for all)' },
  rtmpSegmentSec: { env: 'SEGMINT_RTMP_SEGMENT_SEC', flag: '--rtmp-segment-sec', default: '2', help: 'Target segment length cut from RTMP input (cut on the next keyframe)' },
  rtmpReconnectWindowSec: { env: 'SEGMINT_RTMP_RECONNECT_WINDOW', flag: '--rtmp-reconnect-window', default: '60', help: 'Seconds a dropped RTMP publisher has to come back and continue the same session' },
  rtmpHandshakeTimeoutMs: { env: 'SEGMINT_RTMP_HANDSHAKE_TIMEOUT_MS', flag: '--rtmp-handshake-timeout-ms', default: '5000', help: 'RTMP handshake must complete within this (else closed)' },
  rtmpIdleTimeoutMs: { env: 'SEGMINT_RTMP_IDLE_TIMEOUT_MS', flag: '--rtmp-idle-timeout-ms', default: '15000', help: 'An RTMP connection sending nothing for this long is closed' },
  rtmpMaxChunkSize: { env: 'SEGMINT_RTMP_MAX_CHUNK_SIZE', flag: '--rtmp-max-chunk-size', default: String(1024 * 1024), help: 'Largest chunk size a publisher may set (above: connection closed)' },
  rtmpMaxMessageBytes: { env: 'SEGMINT_RTMP_MAX_MESSAGE_BYTES', flag: '--rtmp-max-message-bytes', default: String(8 * 1024 * 1024), help: 'Largest RTMP message (a video frame) accepted' },
  rtmpMaxChunkStreams: { env: 'SEGMINT_RTMP_MAX_CHUNK_STREAMS', flag: '--rtmp-max-chunk-streams', default: '32', help: 'Chunk stream ids one RTMP connection may use' },
  rtmpMaxConnections: { env: 'SEGMINT_RTMP_MAX_CONNECTIONS', flag: '--rtmp-max-connections', default: '1000', help: 'RTMP connections open at once (more are refused)' },
  rtmpMaxConnectionsPerIp: { env: 'SEGMINT_RTMP_MAX_CONNECTIONS_PER_IP', flag: '--rtmp-max-connections-per-ip', default: '50', help: 'RTMP connections open at once from one IP address' },
  rtmpMaxPublishers: { env: 'SEGMINT_RTMP_MAX_PUBLISHERS', flag: '--rtmp-max-publishers', default: '500', help: 'Streams published over RTMP at once (more get NetStream.Publish.Rejected)' },
} as const;

export type RtmpConfig = {
  /** -1: RTMP off. */
  port: number;
  host: string;
  segmentSec: number;
  reconnectWindowSec: number;
  handshakeTimeoutMs: number;
  idleTimeoutMs: number;
  maxChunkSize: number;
  maxMessageBytes: number;
  maxChunkStreams: number;
  maxConnections: number;
  maxConnectionsPerIp: number;
  maxPublishers: number;
};

type IntParser = (name: string, v: string, min: number, max: number) => number;

export function parseRtmpKnobs(k: Record<keyof typeof RTMP_KNOBS, string>, int: IntParser, httpHost: string): RtmpConfig {
  return {
    port: int('SEGMINT_RTMP_PORT', k.rtmpPort, -1, 65535),
    host: k.rtmpHost || httpHost,
    segmentSec: int('SEGMINT_RTMP_SEGMENT_SEC', k.rtmpSegmentSec, 1, 30),
    reconnectWindowSec: int('SEGMINT_RTMP_RECONNECT_WINDOW', k.rtmpReconnectWindowSec, 0, 3600),
    handshakeTimeoutMs: int('SEGMINT_RTMP_HANDSHAKE_TIMEOUT_MS', k.rtmpHandshakeTimeoutMs, 100, 120_000),
    idleTimeoutMs: int('SEGMINT_RTMP_IDLE_TIMEOUT_MS', k.rtmpIdleTimeoutMs, 500, 600_000),
    maxChunkSize: int('SEGMINT_RTMP_MAX_CHUNK_SIZE', k.rtmpMaxChunkSize, 128, 16 * 1024 * 1024),
    maxMessageBytes: int('SEGMINT_RTMP_MAX_MESSAGE_BYTES', k.rtmpMaxMessageBytes, 64 * 1024, 0xffffff),
    maxChunkStreams: int('SEGMINT_RTMP_MAX_CHUNK_STREAMS', k.rtmpMaxChunkStreams, 4, 65599),
    maxConnections: int('SEGMINT_RTMP_MAX_CONNECTIONS', k.rtmpMaxConnections, 1, 1_000_000),
    maxConnectionsPerIp: int('SEGMINT_RTMP_MAX_CONNECTIONS_PER_IP', k.rtmpMaxConnectionsPerIp, 1, 1_000_000),
    maxPublishers: int('SEGMINT_RTMP_MAX_PUBLISHERS', k.rtmpMaxPublishers, 1, 1_000_000),
  };
}
