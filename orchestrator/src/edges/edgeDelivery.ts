import type { RedisClient } from '../redis/redisClient.js';
import type { Logger } from 'pino';
import type { Address } from 'viem';
import { ApiError, type Receipt, type ReceiptRejection, type TicketBatch, type TicketParams, type ViewerSession, type ViewerSessionRequest } from '@segmint/protocol';
import { RateLimitedError, RateLimiter } from '../auth/rateLimiter.js';
import type { StakeReader } from '../marketplace/stake.js';
import type { Pipeline } from '../pipeline.js';
import type { EdgeConfig } from './edgesConfig.js';
import { EdgeFaults } from './edgeFaults.js';
import { EdgePayments } from './edgePayments.js';
import { EdgeRegistry } from './edgeRegistry.js';
import { MysteryViewer } from './mysteryViewer.js';
import { ReceiptVerifier, type ReceiptOutcome } from './receiptVerifier.js';
import { SignedSegments } from './signedSegments.js';
import { steer } from './steering.js';
import { ViewerSessions } from './viewerSessions.js';

export type ReceiptBatchResult = {
  status: 'accepted' | 'duplicate';
  paidBytes: number;
  /** One per receipt, in order: bytes paid and, when not all of it was, the stable code why. */
  receipts: { paidBytes: number; rejected?: ReceiptRejection }[];
  owedWei: string;
  payment?: TicketBatch;
};

/**
 * Edge delivery on the orchestrator side: edge registry, steering of viewer sessions, receipts
 * (verified, deduplicated, capped, paid), fault reports and the mystery viewer. HTTP lives in
 * api/routes/edges.ts; this holds none.
 */
export class EdgeDelivery {
  readonly registry: EdgeRegistry;
  readonly sessions: ViewerSessions;
  readonly faults: EdgeFaults;
  readonly mysteryViewer: MysteryViewer;
  readonly payments: EdgePayments;
  private readonly receipts: ReceiptVerifier;
  private readonly perIp: RateLimiter;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly p: Pipeline, redis: RedisClient, prefix: string, stake: StakeReader, readonly config: EdgeConfig, readonly domain: { chainId: number; stakingManager: Address }, outbound: { allowPrivate: boolean; trustedHosts?: readonly string[] }, private readonly logger: Logger) {
    this.registry = new EdgeRegistry(redis, prefix, stake, config.heartbeatTtlMs);
    const segments = new SignedSegments(p);
    this.sessions = new ViewerSessions(redis, this.registry.k, config.sessionIdleSec);
    this.receipts = new ReceiptVerifier(redis, this.registry.k, this.sessions, segments, { factor: config.capFactor, slackSec: config.capSlackSec });
    this.faults = new EdgeFaults({ registry: this.registry, segments, domain, excludeMs: config.excludeSec * 1000, ...(p.audit.slasher ? { slasher: p.audit.slasher } : {}), logger });
    this.mysteryViewer = new MysteryViewer({ registry: this.registry, segments, faults: this.faults, maxLatencyMs: config.maxLatencyMs, outbound, logger });
    this.payments = new EdgePayments(p.payments ?? null, config.pricePerByte);
    this.perIp = new RateLimiter(redis, `${prefix}:edges:session-ip`, config.sessionRateLimit);
  }

  /** Runs the mystery viewer every `mysteryIntervalMs` (0: never). */
  start(): void {
    if (this.config.mysteryIntervalMs <= 0) return;
    let running = false;
    this.timer = setInterval(() => {
      if (running) return;
      running = true;
      this.mysteryViewer.round().catch((err) => this.logger.warn({ err }, 'mystery round failed')).finally(() => (running = false));
    }, this.config.mysteryIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /**
   * Starts a viewer session: steers it (steering.ts) and binds it to the player's key and that edge.
   * Streams behind a playback policy play from the origin (an edge cannot check their JWTs).
   */
  async startSession(req: ViewerSessionRequest, ip: string): Promise<ViewerSession> {
    try {
      await this.perIp.hit(ip);
    } catch (err) {
      if (err instanceof RateLimitedError) throw new ApiError('RATE_LIMITED', `too many viewer sessions from ${ip}; retry in ${err.retryAfterSec} s`);
      throw err;
    }
    const stream = await this.p.streams.getByPlaybackId(req.playbackId);
    if (!stream) throw new ApiError('PLAYBACK_NOT_FOUND', `no stream with playback id ${req.playbackId}`);
    const pick = stream.playbackPolicy.type === 'public'
      ? steer(await this.registry.views(), { minStake: this.config.minStake }, new Set((req.avoid ?? []).map((a) => a.toLowerCase())))
      : null;
    const s = await this.sessions.create(req.playbackId, req.viewerKey, pick?.edge ?? '');
    const expiresAt = this.sessions.expiresAt(s.startedAt);
    if (pick) await this.registry.addLoad(pick.edge, s.session, expiresAt);
    await this.registry.redis.zadd(this.registry.k.playbacks, Date.now(), req.playbackId);
    const origin = `${this.p.config.publicUrl}/hls/${stream.playbackId}/index.m3u8`;
    return {
      session: s.session,
      edge: pick ? { address: pick.edge, url: pick.url } : null,
      src: pick ? `${pick.url}/hls/${stream.playbackId}/index.m3u8` : origin,
      origin,
      segmentSigner: this.p.segmentSigner.address,
      chainId: this.domain.chainId,
      stakingManager: this.domain.stakingManager,
      ...(pick ? { receiptsUrl: `${pick.url}/receipts` } : {}),
      expiresAt,
    };
  }

  /**
   * Verifies an edge's receipts and pays the bytes they prove. Idempotent per batch (the edge sends
   * the very batch again when it did not get the answer): each receipt remembers the batch that
   * paid it, the tickets are booked under the batch id and the counters are added once.
   */
  async submit(edgeAddress: string, receipts: Receipt[], params: TicketParams | undefined): Promise<ReceiptBatchResult> {
    const edge = edgeAddress.toLowerCase();
    if (!(await this.registry.record(edge))) throw new ApiError('EDGE_NOT_REGISTERED', `${edgeAddress} is not registered: register again`);
    if (await this.registry.isExcluded(edge)) throw new ApiError('EDGE_EXCLUDED', `${edgeAddress} is excluded (proven to serve wrong bytes): its receipts are not paid`);
    this.payments.check(edge, params);
    const batchId = EdgePayments.batchId(receipts.map((r) => r.signature));
    const earlier = await this.payments.earlier(batchId, edge, params);
    if (earlier) return { status: 'duplicate', paidBytes: 0, receipts: receipts.map(() => ({ paidBytes: 0, rejected: 'RECEIPT_REPLAYED' })), owedWei: earlier.owed, payment: earlier };
    const outcomes: ReceiptOutcome[] = [];
    const inBatch = new Set<string>();
    const receivedAt = Date.now();
    for (const r of receipts) {
      // a second receipt for a segment in the same batch: replayed (the batch id alone would let it pass as "the same batch again")
      const id = `${r.session} ${r.rendition}/${r.uri}`;
      outcomes.push(inBatch.has(id) ? { paidBytes: 0, rejected: 'RECEIPT_REPLAYED' } : await this.receipts.verify(edge, r, batchId, receivedAt));
      inBatch.add(id);
    }
    const paidBytes = outcomes.reduce((n, o) => n + o.paidBytes, 0);
    // sessions that paid keep counting as this edge's load
    for (const r of new Set(receipts.filter((_, i) => outcomes[i]!.paidBytes > 0).map((r) => r.session))) await this.registry.addLoad(edge, r, this.sessions.expiresAt());
    const rejected: Record<string, number> = {};
    for (const o of outcomes) if (o.rejected) rejected[`rejected.${o.rejected}`] = (rejected[`rejected.${o.rejected}`] ?? 0) + 1;
    const owed = BigInt(paidBytes) * this.payments.pricePerByte;
    const payment = await this.payments.pay(batchId, edge, params, BigInt(paidBytes));
    await this.registry.countBatch(edge, batchId, { receipts: outcomes.filter((o) => o.paidBytes > 0).length, paidBytes, ...rejected });
    return { status: 'accepted', paidBytes, receipts: outcomes, owedWei: owed.toString(), ...(payment ? { payment } : {}) };
  }
}
