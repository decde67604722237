/**
 * Segmint's RTMP ingest server: accepts publishers on `rtmp://HOST:PORT/live/STREAM_KEY`, checks
 * the key, turns the media into ~2 s MPEG-TS segments with the in-process segmenter and
 * hands each to `ingestSegment` (the same path as an HTTP-pushed segment).
 *
 * Sessions: one publisher per stream, across every orchestrator on the Redis (PublisherClaims). A
 * publisher that drops, or whose orchestrator dies, keeps the stream's session for the reconnect
 * window; coming back with the same key to any orchestrator continues it at the seq after the last
 * one admitted (the playlists mark EXT-X-DISCONTINUITY there); after the window the session ends
 * (EXT-X-ENDLIST).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { ApiError } from '@segmint/protocol';
import { ingestSegment, PublisherMovedError } from '../ingest/segmentIngest.js';
import type { Pipeline } from '../pipeline.js';
import type { Stream } from '../streams/streamStore.js';
import { IngestHealthTracker, type IngestHealth } from './ingestHealth.js';
import { PublisherClaims } from './publisherClaims.js';
import type { RtmpConfig } from './rtmpConfig.js';
import { RtmpConnection, type MediaSink, type PublishDecision, type PublishRequest } from './rtmpConnection.js';
import { Segmenter } from './segmenter.js';
import { TAG_VIDEO, videoInfo, TAG_AUDIO } from './flv.js';

export type RtmpServerOptions = RtmpConfig & {
  /** Seconds without ingest after which a live session counts as stale (SEGMINT_IDLE_TIMEOUT). */
  idleTimeoutSec: number;
};

/** What the server keeps per stream while it is published or inside its reconnect window. */
type StreamEntry = {
  streamId: string;
  publisher: { conn: RtmpConnection; segmenter: Segmenter; baseSeq: number } | null;
  /** The last publisher's segmenter flushing its final segment (a reconnect waits for it). */
  flushing: Promise<void>;
  windowTimer: NodeJS.Timeout | null;
  health: IngestHealthTracker;
  /** The stream record, re-read at most every STREAM_RECHECK_MS (suspension, deletion). */
  stream: { value: Stream; at: number };
};

/** How stale the stream record used for ingest may be: a suspension stops a publish within this. */
const STREAM_RECHECK_MS = 5000;

const MAX_KEY_LENGTH = 256;

/** A receiving orchestrator's claim on a stream lapses this long after its last renewal (it died). */
const LEASE_MS = 5000;

export class RtmpServer {
  readonly port: number;
  private readonly connections = new Set<RtmpConnection>();
  private readonly perIp = new Map<string, number>();
  private readonly streams = new Map<string, StreamEntry>();
  private nextConnectionId = 1;
  private publishers = 0;
  private closing = false;
  private renewing = false;
  private readonly claims: PublisherClaims;
  private readonly renewTimer: NodeJS.Timeout;

  private constructor(
    private readonly server: Server,
    private readonly p: Pipeline,
    private readonly opts: RtmpServerOptions,
    private readonly log: Logger,
  ) {
    const address = server.address();
    this.port = typeof address === 'object' && address ? address.port : opts.port;
    this.claims = new PublisherClaims(p.live.redis, p.live.prefix, randomUUID(), {
      leaseMs: LEASE_MS, windowMs: opts.reconnectWindowSec * 1000, idleMs: opts.idleTimeoutSec * 1000,
    });
    this.renewTimer = setInterval(() => void this.renewClaims(), LEASE_MS / 3);
    this.renewTimer.unref();
    // A terminated session (DELETE …/terminate) also drops its RTMP publisher.
    p.events.on('session.ended', (streamId: string) => {
      const e = this.streams.get(streamId);
      if (e?.publisher) e.publisher.conn.close('session ended (terminated)', 'info');
    });
  }

  static async start(p: Pipeline, opts: RtmpServerOptions, logger: Logger): Promise<RtmpServer> {
    const log = logger.child({ component: 'rtmp' });
    const server = createServer({ noDelay: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port, opts.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const rtmp = new RtmpServer(server, p, opts, log);
    server.on('connection', (socket) => rtmp.accept(socket));
    server.on('error', (err) => log.error({ err }, 'rtmp server error'));
    log.info({ port: rtmp.port, host: opts.host }, 'rtmp ingest listening');
    return rtmp;
  }

  /** True while a publisher of the stream is connected to this orchestrator. */
  publishing(streamId: string): boolean {
    return !!this.streams.get(streamId)?.publisher;
  }

  /**
   * Renews the claims on streams published here, all in one round trip (one at a time, 100
   * streams' renewals could outlast the lease on a loaded machine); drops a publisher whose claim
   * went elsewhere.
   */
  private async renewClaims(): Promise<void> {
    if (this.renewing) return;
    const conns = new Map<string, RtmpConnection>();
    for (const e of this.streams.values()) if (e.publisher) conns.set(e.streamId, e.publisher.conn);
    this.renewing = true;
    try {
      for (const streamId of await this.claims.renew([...conns.keys()])) conns.get(streamId)!.close('the stream is now received by another orchestrator', 'warn');
    } catch (err) {
      this.log.warn({ err, streams: conns.size }, 'could not renew the rtmp claims (Redis down?); retrying');
    } finally {
      this.renewing = false;
    }
  }

  /** Ingest health of a stream published over RTMP now or within its reconnect window. */
  health(streamId: string): IngestHealth | null {
    return this.streams.get(streamId)?.health.snapshot() ?? null;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  private accept(socket: Socket): void {
    const ip = socket.remoteAddress ?? 'unknown';
    if (this.closing) return void socket.destroy();
    if (this.connections.size >= this.opts.maxConnections) {
      this.log.warn({ ip, limit: this.opts.maxConnections }, 'rtmp connection refused: server at its connection limit');
      return void socket.destroy();
    }
    const fromIp = this.perIp.get(ip) ?? 0;
    if (fromIp >= this.opts.maxConnectionsPerIp) {
      this.log.warn({ ip, limit: this.opts.maxConnectionsPerIp }, 'rtmp connection refused: too many from this address');
      return void socket.destroy();
    }
    this.perIp.set(ip, fromIp + 1);
    const conn: RtmpConnection = new RtmpConnection(socket, {
      id: this.nextConnectionId++,
      logger: this.log,
      limits: {
        maxChunkSize: this.opts.maxChunkSize,
        maxMessageSize: this.opts.maxMessageBytes,
        maxChunkStreams: this.opts.maxChunkStreams,
        maxAssemblingBytes: this.opts.maxMessageBytes + 1024 * 1024,
        handshakeTimeoutMs: this.opts.handshakeTimeoutMs,
        idleTimeoutMs: this.opts.idleTimeoutMs,
      },
      onPublish: (req): Promise<PublishDecision> => this.onPublish(conn, req),
      onClose: (c) => {
        this.connections.delete(c);
        const n = (this.perIp.get(ip) ?? 1) - 1;
        if (n > 0) this.perIp.set(ip, n);
        else this.perIp.delete(ip);
      },
    });
    this.connections.add(conn);
  }

  private async onPublish(conn: RtmpConnection, req: PublishRequest): Promise<PublishDecision> {
    const badName = (description: string): PublishDecision => ({ ok: false, code: 'NetStream.Publish.BadName', description });
    // printable ASCII only: a key with control bytes (NUL) is not a key, and must not reach SQL
    if (!req.key || req.key.length > MAX_KEY_LENGTH || !/^[\x21-\x7e]+$/.test(req.key)) return badName('missing or malformed stream key: publish to rtmp://HOST/live/STREAM_KEY');
    if (this.publishers >= this.opts.maxPublishers) {
      return { ok: false, code: 'NetStream.Publish.Rejected', description: `this server is at its limit of ${this.opts.maxPublishers} publishers; try another` };
    }
    const stream = await this.p.streams.getByStreamKey(req.key);
    if (!stream) return badName('unknown stream key');
    if (stream.suspended) return badName('this stream is suspended');
    const log = this.log.child({ streamId: stream.id, rtmpConnection: req.connectionId });

    const taken = badName('this stream key is already being published; the first publisher keeps the stream');
    let entry = this.streams.get(stream.id);
    if (entry?.publisher) return taken;
    if (entry) {
      // inside the reconnect window here: the old segmenter's last segment goes first
      if (entry.windowTimer) clearTimeout(entry.windowTimer);
      entry.windowTimer = null;
      await entry.flushing;
    }
    const claimed = await this.claimStream(stream.id);
    if (claimed.outcome === 'taken') return taken;
    if (claimed.outcome !== 'new' && claimed.outcome !== 'continue') return badName('this stream is live (segments are being pushed over HTTP)');
    entry = this.streams.get(stream.id);
    if (entry?.publisher) return taken;
    if (!entry) {
      entry = {
        streamId: stream.id, publisher: null, flushing: Promise.resolve(), windowTimer: null,
        health: new IngestHealthTracker(this.opts.segmentSec), stream: { value: stream, at: Date.now() },
      };
      this.streams.set(stream.id, entry);
    }
    // A continued session starts right after the last seq admitted (on any orchestrator): the live
    // state marks EXT-X-DISCONTINUITY there.
    const baseSeq = claimed.baseSeq;
    const e = entry;
    // claim synchronously, before the segmenter's await, so a racing publisher sees it taken
    const claim = { conn, segmenter: null as unknown as Segmenter, baseSeq };
    e.publisher = claim;
    this.publishers++;
    let segmenter: Segmenter;
    try {
      segmenter = await Segmenter.start({
        segmentSec: this.opts.segmentSec,
        logger: log,
        onSegment: (index, bytes) => this.onSegment(e, baseSeq + index, bytes, conn, log),
      });
    } catch (err) {
      e.publisher = null;
      this.publishers--;
      void this.afterPublisher(e, log);
      throw err;
    }
    claim.segmenter = segmenter;
    log.info({ key: redactKey(req.key), baseSeq, remote: req.remote }, 'rtmp publish started');
    let ended = false;
    const health = e.health;
    const sink: MediaSink = {
      media: (type, ts, body) => {
        health.media(body.length);
        if (type === TAG_VIDEO) {
          const v = videoInfo(body);
          if (v && !v.sequenceHeader) health.videoFrame(ts, v.keyframe);
          health.videoCodec ??= 'h264';
        } else if (type === TAG_AUDIO) health.audioCodec ??= 'aac';
        return segmenter.write(type, ts, body);
      },
      end: (reason) => {
        if (ended) return;
        ended = true;
        log.info({ reason, segments: segmenter.segments }, 'rtmp publish ended');
        e.publisher = null;
        this.publishers--;
        e.flushing = segmenter.end().catch((err) => log.error({ err }, 'segmenter did not end cleanly'));
        void this.afterPublisher(e, log);
      },
    };
    return { ok: true, sink };
  }

  /**
   * Claims the stream in Redis; a session a crash left behind (no claim, no recent ingest) is
   * ended first, so the publisher starts clean.
   */
  private async claimStream(streamId: string) {
    const claimed = await this.claims.claim(streamId);
    if (claimed.outcome !== 'stale') return claimed;
    await this.p.endSession(streamId);
    return this.claims.claim(streamId);
  }

  /**
   * Once the segmenter's last segment is ingested, starts the reconnect window (in Redis: the
   * publisher may come back to any orchestrator); when it runs out with nobody back, the session
   * ends. Until then the claim stays ours (a publisher back elsewhere is refused for that moment,
   * and retries); a flush slower than the lease lets the claim lapse, and admits nothing after
   * another orchestrator continued the session.
   */
  private async afterPublisher(e: StreamEntry, log: Logger): Promise<void> {
    await e.flushing;
    if (e.publisher) return; // back here while flushing: the claim goes on
    await this.claims.release(e.streamId).catch((err: unknown) => log.warn({ err }, 'could not start the reconnect window in Redis'));
    if (this.closing || e.publisher) return;
    if (e.windowTimer) clearTimeout(e.windowTimer);
    e.windowTimer = setTimeout(() => {
      void e.flushing.then(async () => {
        if (e.publisher || this.streams.get(e.streamId) !== e) return;
        this.streams.delete(e.streamId);
        if (!(await this.claims.windowOver(e.streamId).catch(() => false))) return; // continued elsewhere (or Redis down: the idle sweep ends it)
        log.info({ windowSec: this.opts.reconnectWindowSec }, 'rtmp reconnect window over; ending the session');
        await this.p.endSession(e.streamId).catch((err) => log.error({ err }, 'could not end the session'));
      });
    }, this.opts.reconnectWindowSec * 1000);
  }

  /** `bytes` are the segmenter's buffer, reused once this returns: ingestSegment is awaited, and keeps none of it. */
  private async onSegment(e: StreamEntry, seq: number, bytes: Buffer, conn: RtmpConnection, log: Logger): Promise<void> {
    // re-read now and then (not per segment: the database is shared): a stream suspended or
    // deleted mid-publish stops here
    if (Date.now() - e.stream.at > STREAM_RECHECK_MS) {
      const fresh = await this.p.streams.get(e.streamId);
      if (!fresh) return conn.close('stream deleted while publishing', 'info');
      e.stream = { value: fresh, at: Date.now() };
    }
    const stream = e.stream.value;
    try {
      await ingestSegment(this.p, stream, seq, bytes, 'rtmp', this.claims.owner);
    } catch (err) {
      if (err instanceof PublisherMovedError) return conn.close('the stream is now received by another orchestrator', 'warn');
      if (err instanceof ApiError && err.code === 'STREAM_SUSPENDED') return conn.close('stream suspended while publishing', 'info');
      log.warn({ err, seq }, 'rtmp segment rejected by ingest');
    }
  }

  /** Stops accepting, drops every connection, flushes segmenters. Sessions are left to the idle sweep. */
  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.renewTimer);
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    for (const c of this.connections) c.close('server shutting down', 'info');
    for (const e of this.streams.values()) {
      if (e.windowTimer) clearTimeout(e.windowTimer);
      await e.flushing;
    }
    this.streams.clear();
    await closed;
  }
}

/** Stream keys are secrets: logs show only their start. */
const redactKey = (k: string) => `${k.slice(0, 4)}…`;
