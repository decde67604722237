import type { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Dispatcher } from './dispatch/dispatcher.js';
import type { LiveState } from './live/liveState.js';
import type { Metrics } from './metrics/metrics.js';
import type { SegmentStorage } from './storage/segmentStorage.js';
import type { Stream, StreamStore } from './streams/streamStore.js';
import type { JobTokens } from './auth/jobTokens.js';
import type { AuditStore, CommitmentDomain } from './audit/auditStore.js';
import type { Slasher } from './verification/slasher.js';
import type { IngestHealth } from './rtmp/ingestHealth.js';
import type { TicketSender } from './payments/ticketSender.js';
import type { OwnChecks } from './verification/ownChecks.js';
import type { PendingChecks } from './verification/pendingChecks.js';
import type { HardContent } from './verification/hardContent.js';
import type { SegmentSigner } from './hls/segmentSigner.js';
import type { ViewerStats } from './p2p/viewerStats.js';

/** What the segment path needs, in one bundle handed to ingest, result handling and routes. */
export type Pipeline = {
  config: {
    /** Base URL workers use to reach this orchestrator. */
    publicUrl: string;
    /** Segments in a live media playlist. */
    hlsWindow: number;
    /** Segments kept on disk beyond the window (then deleted). */
    hlsRetain: number;
    /** Fraction of accepted segments re-transcoded by a second worker and compared. */
    spotCheckRate: number;
    /** Tests only: spot-check sampling as a function of (seed, jobId), predictable and repeatable. */
    testSpotCheckSeed?: string;
    /** How long a worker that failed a quality check is excluded. */
    ssimExcludeMs: number;
    /** A worker proven by hashes to cheat gets no jobs for this long. */
    cheaterExcludeMs: number;
  };
  streams: StreamStore;
  live: LiveState;
  storage: SegmentStorage;
  dispatcher: Dispatcher;
  tokens: JobTokens;
  /** Result commitments: their EIP-712 domain, and the audit trail of published segments. */
  audit: { store: AuditStore; domain: CommitmentDomain; slasher?: Slasher };
  /** Signs the segment hash sidecars players check peer segments against. */
  segmentSigner: SegmentSigner;
  /** Origin vs peer bytes players report, per stream. */
  viewerStats: ViewerStats;
  metrics: Metrics;
  logger: Logger;
  onSessionStart(stream: Stream, session: number): void;
  /** Ends a stream's live session now (terminate); no-op when it is not live. */
  endSession(streamId: string): Promise<void>;
  /** Starts pulling a pull stream (false: already being pulled); set once the RTMP ingest is up. */
  startPull?(stream: Stream): Promise<boolean>;
  /** Live ingest health (RTMP publishes: bitrate, fps, keyframe interval); null when unknown. */
  ingestHealth?(streamId: string): IngestHealth | null;
  /** How sampled results are checked when no peer is free (verification/startCheck.ts). */
  checks: {
    pending: PendingChecks;
    own: OwnChecks;
    /** The orchestrator's own encoder fingerprint: a worker with this one is checked by re-transcoding. */
    referenceFingerprint: string;
    /** Sampling rate of results that cannot be compared bit for bit (quality checks). */
    qualityRate: number;
    /** Streams too hard for the quality check to judge: all such results checked (hardContent.ts). */
    hardContent: HardContent;
  };
  /** Pays accepted results with tickets; absent when no chain/broker/sender key is configured. */
  payments?: TicketSender | null;
  /**
   * Pipeline events, for webhooks, sessions, usage and the dashboard:
   * - `ingested` (stream: Stream, session: number, seq: number, bytes: Buffer): a source segment was stored and queued
   * - `published` (streamId, PublishedRecord[]): segments entered the playlists
   * - `session.started` (stream: Stream, session: number): first segment of a live session
   * - `session.ended` (streamId: string): idle timeout or terminate
   */
  events: EventEmitter;
};
