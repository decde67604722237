import { readFileSync } from 'node:fs';
import type { RedisClient } from '../redis/redisClient.js';
import { receiptSigner, type Receipt, type ReceiptRejection } from '@segmint/protocol';
import type { EdgeKeys } from './keys.js';
import type { SignedSegments } from './signedSegments.js';
import type { ViewerSessionRecord, ViewerSessions } from './viewerSessions.js';

const SCRIPTS = { segmintEdgeAccept: { numberOfKeys: 2, lua: readFileSync(new URL('./lua/accept-2.lua', import.meta.url), 'utf8') } };
type Commands = { segmintEdgeAccept(...a: (string | number)[]): Promise<[number, number]> };

export type CapRule = { factor: number; slackSec: number };

/** One receipt's outcome: bytes paid (0 when refused) and, when not all of it is paid, why. */
export type ReceiptOutcome = { paidBytes: number; rejected?: ReceiptRejection };

/** A receipt may be dated this far past the orchestrator's clock (viewer clocks drift). */
const FUTURE_SKEW_MS = 30_000;

/**
 * Checks the receipts an edge submits, each against what neither edge nor viewer can forge: the
 * session key the viewer named when the orchestrator steered it (signature), the edge it was
 * steered to, the segment the orchestrator signed (bytes and sha256), the segments this session
 * already vouched for (replay), and what the session can have watched: the stream's top measured
 * bitrate × cap factor × (wall time since the session started + slack).
 */
export class ReceiptVerifier {
  private readonly redis: RedisClient & Commands;

  constructor(redis: RedisClient, private readonly k: EdgeKeys, private readonly sessions: ViewerSessions, private readonly segments: SignedSegments, private readonly cap: CapRule) {
    for (const [name, def] of Object.entries(SCRIPTS)) if (!(name in redis)) redis.defineCommand(name, def);
    this.redis = redis as RedisClient & Commands;
  }

  /** Bytes a session may have vouched for by `now`, given the stream's top bitrate. */
  allowance(s: Pick<ViewerSessionRecord, 'startedAt'>, topBytesPerSec: number, now: number): number {
    return Math.floor(topBytesPerSec * this.cap.factor * (Math.max(0, now - s.startedAt) / 1000 + this.cap.slackSec));
  }

  /**
   * `batchId`: the batch carrying it; the same batch verified again gets the same outcome (the edge
   * retried). `receivedAt`: when the batch came in (the signed segments are read no earlier than that when needed).
   */
  async verify(edge: string, r: Receipt, batchId: string, receivedAt: number, now = Date.now()): Promise<ReceiptOutcome> {
    const refuse = (rejected: ReceiptRejection): ReceiptOutcome => ({ paidBytes: 0, rejected });
    if (r.edge.toLowerCase() !== edge) return refuse('RECEIPT_WRONG_EDGE');
    const session = await this.sessions.get(r.session);
    if (!session) return refuse('RECEIPT_UNKNOWN_SESSION');
    if (session.edge !== edge) return refuse('RECEIPT_WRONG_EDGE');
    if (session.playbackId !== r.playbackId) return refuse('RECEIPT_WRONG_STREAM');
    if (r.time < session.startedAt - FUTURE_SKEW_MS || r.time > now + FUTURE_SKEW_MS) return refuse('RECEIPT_TIME_INVALID');
    const signer = await receiptSigner(r);
    if (!signer || signer.toLowerCase() !== session.viewerKey) return refuse('RECEIPT_FORGED');
    const id = `${r.rendition}/${r.uri}`;
    let stream = await this.segments.get(r.playbackId);
    // not in the cached read: published since? read again (once per batch: `receivedAt`)
    if (!stream?.byId.has(id)) stream = await this.segments.fresh(r.playbackId, receivedAt);
    const facts = stream?.byId.get(id);
    if (!stream || !facts) return refuse('RECEIPT_UNKNOWN_SEGMENT');
    if (facts.sha256 !== r.sha256 || facts.bytes !== r.bytes) return refuse('RECEIPT_HASH_MISMATCH');
    const keys = this.k.session(r.session);
    const [paid] = await this.redis.segmintEdgeAccept(keys.record, keys.seen, `${r.rendition}/${r.uri}`, r.bytes, this.allowance(session, stream.topBytesPerSec, now), batchId);
    if (paid === -2) return refuse('RECEIPT_UNKNOWN_SESSION');
    if (paid === -1) return refuse('RECEIPT_REPLAYED');
    await this.sessions.touch(r.session);
    return paid < r.bytes ? { paidBytes: paid, rejected: 'RECEIPT_OVER_CAP' } : { paidBytes: paid };
  }
}
