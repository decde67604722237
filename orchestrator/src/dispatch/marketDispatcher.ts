import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { blockingDuplicate, type RedisClient } from '../redis/redisClient.js';
import type { Logger } from 'pino';
import { workerQueueName, type SegmentJob, type TranscodeJob } from '@segmint/protocol';
import { runAuction, type AuctionRules, type Candidate, type IneligibleReason, type RankedBid } from '../marketplace/auction.js';
import type { Registry } from '../marketplace/registry.js';
import { marketKeys, type MarketKeys } from '../marketplace/keys.js';
import type { Metrics } from '../metrics/metrics.js';
import type { PendingChecks } from '../verification/pendingChecks.js';
import type { SkipReason } from '../audit/auditStore.js';
import type { Assignment, Dispatcher, Settlement, SpotCheck } from './dispatcher.js';

/** H.264 encoders a worker may use for a segment (results are checked, not the encoder). */
const H264_ENCODERS = ['libx264', 'h264_nvenc'] as const;
/** How long a job and its outcome are remembered (late results, audits of recent segments). */
const JOB_TTL_MS = 3600_000;
/**
 * The worker view is re-read this often at most (less with a short heartbeat TTL); registrations,
 * exclusions and forgotten workers are pushed (Pub/Sub) and reload it at once. Slots other
 * orchestrators take or free are not pushed: the claim script keeps slots exact, and a view that
 * says a worker is full (a failed claim, nobody free) is re-read sooner, RELOAD_MIN_MS apart.
 */
const RESYNC_MS = 1000;
const RELOAD_MIN_MS = 100;
/** A snapshot older than this is never served: after an idle spell the next auction waits for a fresh one. */
const STALE_MAX_MS = 3000;
const TICK_MS = 100;
/**
 * With nothing waiting and no deadline of its own pending, a tick looks for missed deadlines only
 * this often (other orchestrators watch their own; a crashed one's are caught within this).
 */
const IDLE_TICK_MS = 1000;
/** Reasons a worker that could take a segment cannot take it yet: the segment waits for it. */
const BUSY = new Set<IneligibleReason>(['no-free-slot', 'checks-pending']);
/** How long this orchestrator counts as alive after its last beat (it beats every ALIVE_BEAT_MS). */
const ALIVE_TTL_MS = 5000;
const ALIVE_BEAT_MS = 1000;
/** One orchestrator at a time recovers an orphaned job; its claim on it lasts this long. */
const RECOVER_LOCK_MS = 10_000;

export type MarketDispatcherOptions = {
  /** Commands connection (also used by the per-worker BullMQ queues). */
  redis: RedisClient;
  prefix: string;
  registry: Registry;
  rules: Pick<AuctionRules, 'minStake' | 'maxPricePerPixel'>;
  /** Distinct workers tried per segment before it is skipped. */
  attempts: number;
  /** Time a worker has for a segment: max(minMs, duration × factor). */
  deadline: { factor: number; minMs: number };
  /** A segment nobody can take for this long is skipped. */
  waitLimitMs: number;
  /** URLs and token a given worker uses for a job. */
  links(job: SegmentJob, worker: string): Pick<TranscodeJob, 'sourceUrl' | 'resultUrl' | 'token'>;
  /** Workers with too many checks open win nothing (absent: no such limit). */
  pendingChecks?: PendingChecks;
  metrics: Metrics;
  logger: Logger;
};

type Waiting = { job: SegmentJob; tried: ReadonlySet<string>; since: number };
/** Why a segment is being auctioned: first time, after a worker failed it, after a missed deadline. */
type Round = 'new' | 'failed' | 'missed';

/**
 * The marketplace dispatcher (DESIGN steps 2 and 4): auctions each segment among registered
 * workers, claims a slot of the winner atomically (several orchestrators may share the RedisClient),
 * puts the job on the winner's own BullMQ queue with a deadline, and re-auctions to the next-best
 * worker when the deadline passes or the worker fails. The first valid result wins.
 *
 * A dead worker (kill -9) is noticed by its deadline, not by BullMQ's stalled-job check, and its
 * heartbeat lapses so it wins nothing more.
 *
 * Spot-checks go the same way (auction, claim, queue) to a worker with the same encoder
 * fingerprint that has not done the segment; they are marked so their results are compared,
 * never published, and they wait behind live segments for a free slot.
 */
export class MarketDispatcher implements Dispatcher {
  private readonly queues = new Map<string, Queue<TranscodeJob>>();
  /** Segments no worker could take yet, oldest first. */
  private readonly waiting = new Map<string, Waiting>();
  private readonly handlers: ((job: SegmentJob, reason: SkipReason, detail: string) => void)[] = [];
  /** Spot-checks waiting for a verifier's free slot (after the segments waiting to be done). */
  private readonly checksWaiting = new Map<string, { job: SegmentJob; checked: SpotCheck; since: number }>();
  private readonly checkHandlers: ((job: SegmentJob) => void)[] = [];
  private snapshot: { at: number; load: Promise<Candidate[]> } | null = null;
  private reloading = false;
  /** The view said someone was full: re-read it soon (other orchestrators' settles are not pushed). */
  private wantReload = false;
  private readonly resyncMs: number;
  /** Receives the registry's change announcements. */
  private readonly subscriber: RedisClient;
  private readonly timer: NodeJS.Timeout;
  private pumping: Promise<void> | null = null;
  private pumpAgain = false;
  private closed = false;
  /** This process, in the records of the jobs it has waiting (so another can tell them orphaned). */
  private readonly instance = randomUUID();
  private readonly aliveTimer: NodeJS.Timeout;
  /** Until then a deadline this process set may pass (or be within its late grace): tick at full rate. */
  private busyUntil = 0;
  private lastTick = 0;

  constructor(private readonly o: MarketDispatcherOptions) {
    this.key = marketKeys(o.prefix);
    this.resyncMs = Math.max(RELOAD_MIN_MS, Math.min(RESYNC_MS, Math.floor(o.registry.heartbeatTtlMs / 3)));
    this.subscriber = blockingDuplicate(o.redis);
    this.subscriber.on('error', (err: Error) => o.logger.debug({ err: err.message }, 'market changes subscription problem'));
    this.subscriber.on('message', () => (this.snapshot = null));
    void this.subscriber.subscribe(o.registry.changes).catch((err: Error) => o.logger.warn({ err: err.message }, 'cannot subscribe to market changes; the worker view resyncs periodically'));
    this.timer = setInterval(() => this.tick(), TICK_MS);
    const beat = () => void o.redis.set(this.key.alive(this.instance), '1', 'PX', ALIVE_TTL_MS).catch(() => {});
    beat();
    this.aliveTimer = setInterval(beat, ALIVE_BEAT_MS);
    this.aliveTimer.unref();
  }

  private readonly key: MarketKeys;

  /** Puts a segment in this process's waiting list, and says so in Redis. */
  private async wait(w: Waiting): Promise<void> {
    this.waiting.set(w.job.jobId, w);
    await this.o.redis.hset(this.key.waiting, w.job.jobId, this.instance);
  }

  private async unwait(jobId: string): Promise<void> {
    if (!this.waiting.delete(jobId)) return;
    await this.o.redis.hdel(this.key.waiting, jobId);
  }

  async orphaned(jobIds: readonly string[]): Promise<Set<string>> {
    const out = new Set<string>();
    for (const jobId of jobIds) {
      if (this.waiting.has(jobId)) continue;
      const [[, owner], [, recovering]] = (await this.o.redis.multi().hget(this.key.waiting, jobId).exists(this.key.recovering(jobId)).exec()) as [[null, string | null], [null, number]];
      if (recovering === 1) continue;
      if (owner && (await this.o.redis.exists(this.key.alive(owner))) === 1) continue;
      if (await this.o.registry.held(jobId, await this.o.registry.tried(jobId))) continue;
      out.add(jobId);
    }
    return out;
  }

  async recover(job: SegmentJob): Promise<boolean> {
    if ((await this.o.redis.set(this.key.recovering(job.jobId), this.instance, 'PX', RECOVER_LOCK_MS, 'NX')) !== 'OK') return false;
    await this.o.redis.multi().set(this.key.job(job.jobId), JSON.stringify(job), 'PX', JOB_TTL_MS).hdel(this.key.waiting, job.jobId).exec();
    const done = await this.o.redis.get(this.key.done(job.jobId));
    if (done === 'gave-up') {
      // given up, and the process died before the skip: finish the skip
      for (const h of this.handlers) h(job, 'stuck', 'given up before a crash; skipped by the sweep');
      return true;
    }
    // accepted, and the process died before publishing: let a worker do it again
    if (done !== null) await this.o.redis.del(this.key.done(job.jobId));
    this.o.metrics.auctions.inc({ outcome: 'recovered' });
    this.o.logger.warn({ jobId: job.jobId, acceptedBefore: done }, 'segment orphaned by a crash; dispatching it again');
    await this.dispatch(job, new Set(await this.o.registry.tried(job.jobId)), 'missed');
    return true;
  }

  async assignment(jobId: string, worker: string): Promise<Assignment | null> {
    const raw = await this.o.redis.get(this.key.assignment(jobId, worker));
    return raw ? (JSON.parse(raw) as Assignment) : null;
  }

  async enqueue(job: SegmentJob): Promise<void> {
    // Written alongside the auction's claim (one round trip): workers only ask for it after the add.
    const stored = this.o.redis.set(this.key.job(job.jobId), JSON.stringify(job), 'PX', JOB_TTL_MS);
    if (this.waiting.size > 0) {
      // Older segments are waiting for a slot: this one queues behind them.
      await Promise.all([stored, this.wait({ job, tried: new Set(), since: Date.now() })]);
      this.o.metrics.auctions.inc({ outcome: 'waiting' });
      this.pump();
      return;
    }
    await Promise.all([stored, this.dispatch(job, new Set(), 'new')]);
  }

  async get(jobId: string): Promise<SegmentJob | null> {
    const raw = await this.o.redis.get(this.key.job(jobId));
    return raw ? (JSON.parse(raw) as SegmentJob) : null;
  }

  async settle(job: SegmentJob, worker: string, s: Settlement): Promise<void> {
    const ok = s.outcome !== 'failed';
    // A late result's miss was scored when its deadline passed; only an on-time end scores here.
    const ended = await this.o.registry.settle(job.jobId, worker, ok, this.budgetMs(job), job.source.durationSec * 1000);
    const onTime = typeof ended === 'number';
    if (ended !== null) this.freeSlotInSnapshot(worker);
    if (!ok) {
      this.o.metrics.workerFailures.inc();
      this.o.logger.info({ jobId: job.jobId, worker, reason: s.reason, onTime }, 'worker failed a segment');
      if (onTime && !(await this.isDone(job.jobId))) await this.dispatch(job, new Set(await this.o.registry.tried(job.jobId)), 'failed');
    }
    if (this.waiting.size > 0 || this.checksWaiting.size > 0) this.pump();
  }

  async claimResult(jobId: string, worker: string): Promise<boolean> {
    // The same key marks a skipped segment: a result after the skip is a duplicate too.
    return (await this.o.redis.set(this.key.done(jobId), worker, 'PX', JOB_TTL_MS, 'NX')) === 'OK';
  }

  async acceptedBy(jobId: string): Promise<string | null> {
    const by = await this.o.redis.get(this.key.done(jobId));
    return by === null || by === 'gave-up' ? null : by;
  }

  async unclaimResult(jobId: string, worker: string): Promise<void> {
    if ((await this.o.redis.get(this.key.done(jobId))) === worker) await this.o.redis.del(this.key.done(jobId));
  }

  async enqueueCheck(job: SegmentJob, checked: SpotCheck, opts: { wait?: boolean } = {}): Promise<'sent' | 'queued' | 'none'> {
    // A redo may concern a segment whose job record expired: the verifier's result must find it.
    await this.o.redis.set(this.key.job(job.jobId), JSON.stringify(job), 'PX', JOB_TTL_MS);
    const outcome = await this.sendCheck(job, checked);
    if (outcome !== 'queued') return outcome;
    // Not waiting: the caller checks it another way (the orchestrator's own check queue).
    if (opts.wait === false) return 'none';
    this.checksWaiting.set(job.jobId, { job, checked, since: Date.now() });
    return outcome;
  }

  onCheckGaveUp(handler: (job: SegmentJob) => void): void {
    this.checkHandlers.push(handler);
  }

  private async sendCheck(job: SegmentJob, checked: SpotCheck): Promise<'sent' | 'queued' | 'none'> {
    const candidates = await this.candidates();
    const maxHeight = Math.max(...job.profiles.map((x) => x.height));
    // Never the checked worker, nor anyone who already did this segment (a tie-break's first verifier).
    const exclude = new Set([checked.checked, ...(checked.tieBreakOf ? [checked.tieBreakOf] : []), ...(await this.o.registry.tried(job.jobId))]);
    const auction = runAuction(candidates, { encoders: H264_ENCODERS, maxHeight, fingerprint: checked.fingerprint }, { ...this.rulesFor(job), exclude });
    for (const bid of auction.ranked) {
      // Marked with the claim, before the add: the verifier's result must never be taken for a publishable one.
      if (!(await this.handTo(job, bid, checked))) continue;
      this.o.logger.debug({ jobId: job.jobId, ...checked, verifier: bid.worker }, 'spot-check dispatched');
      return 'sent';
    }
    return auction.ranked.length > 0 || auction.ineligible.some((i) => BUSY.has(i.reason)) ? 'queued' : 'none';
  }

  async checkOf(jobId: string, worker: string): Promise<SpotCheck | null> {
    const raw = await this.o.redis.get(this.key.check(jobId, worker));
    return raw ? (JSON.parse(raw) as SpotCheck) : null;
  }

  async penalize(worker: string, opts: { excludeForMs?: number } = {}): Promise<void> {
    await this.o.registry.recordOutcome(worker, false);
    await this.o.registry.recordFault(worker);
    if (opts.excludeForMs) await this.o.registry.exclude(worker, opts.excludeForMs);
    this.snapshot = null;
  }

  isExcluded(worker: string): Promise<boolean> {
    return this.o.registry.isExcluded(worker);
  }

  onGaveUp(handler: (job: SegmentJob, reason: SkipReason, detail: string) => void): void {
    this.handlers.push(handler);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    clearInterval(this.aliveTimer);
    this.subscriber.disconnect();
    await this.pumping;
    await Promise.all([...this.queues.values()].map((q) => q.close()));
  }

  /**
   * Claims one of the bidder's slots (atomically: other orchestrators claim too) with a deadline,
   * storing what it won (and the spot-check mark, for a check) in the same script, then puts the
   * job on its queue: two round trips. False when it turned out to be full.
   */
  private async handTo(job: SegmentJob, bid: RankedBid, check?: SpotCheck): Promise<boolean> {
    const deadline = Date.now() + this.budgetMs(job);
    // What it won, kept server-side: the price its tickets pay (pay-as-ask, capped by the rules it
    // won under) and the fingerprint it was chosen with; re-registering changes later auctions only.
    const cap = this.rulesFor(job).maxPricePerPixel;
    const assignment: Assignment = {
      pricePerPixel: (bid.pricePerPixel < cap ? bid.pricePerPixel : cap).toString(),
      fingerprint: bid.candidate.capabilities.fingerprint,
      at: Date.now(),
    };
    const records = { assignment: JSON.stringify(assignment), ...(check ? { check: JSON.stringify(check) } : {}), ttlMs: JOB_TTL_MS };
    if (!(await this.o.registry.claim(bid.worker, bid.candidate.capabilities.maxConcurrent, deadline, job.jobId, records))) {
      bid.candidate.inflight = bid.candidate.capabilities.maxConcurrent; // full: skip it until the next snapshot
      this.wantReload = true;
      return false;
    }
    bid.candidate.inflight += 1;
    this.busyUntil = Math.max(this.busyUntil, deadline + this.lateGraceMs());
    const data: TranscodeJob = { ...job, worker: bid.worker, ...this.o.links(job, bid.worker), deadline };
    try {
      await this.queue(bid.worker).add('transcode', data, { jobId: job.jobId });
    } catch (err) {
      await this.o.registry.unclaim(job.jobId, bid.worker);
      throw err;
    }
    return true;
  }

  /** Runs the auction for a segment and hands it to the best worker with a free slot. */
  private async dispatch(job: SegmentJob, tried: ReadonlySet<string>, round: Round): Promise<void> {
    if (tried.size >= this.o.attempts) return this.giveUp(job, 'attempts-exhausted', `${tried.size} workers tried it`);
    const candidates = await this.candidates();
    const maxHeight = Math.max(...job.profiles.map((x) => x.height));
    const auction = runAuction(candidates, { encoders: H264_ENCODERS, maxHeight }, { ...this.rulesFor(job), exclude: tried });
    for (const bid of auction.ranked) {
      if (!(await this.handTo(job, bid))) continue;
      await this.unwait(job.jobId);
      this.o.metrics.auctions.inc({ outcome: tried.size === 0 ? 'won' : 'reauctioned' });
      this.o.logger.debug(
        {
          jobId: job.jobId,
          winner: bid.worker,
          pricePerPixel: bid.pricePerPixel.toString(),
          effectivePrice: bid.effectivePrice,
          attempt: tried.size + 1,
          ranked: auction.ranked.slice(0, 3).map((r) => ({ worker: r.worker, effectivePrice: r.effectivePrice })),
          ineligible: auction.ineligible,
        },
        'auction decided',
      );
      return;
    }
    const someoneBusy = auction.ranked.length > 0 || auction.ineligible.some((i) => BUSY.has(i.reason));
    this.wantReload = true; // nobody free as this view has it: another orchestrator may have freed slots
    // Failed by every worker there is: skip it. After a missed deadline with nobody else to ask,
    // it waits instead: the slow worker's late result still counts (first valid result wins).
    if (!someoneBusy && round === 'failed') return this.giveUp(job, 'attempts-exhausted', 'failed by every eligible worker');
    // Every eligible worker is busy (or none has registered yet): wait for a slot.
    if (!this.waiting.has(job.jobId)) {
      await this.wait({ job, tried, since: Date.now() });
      this.o.metrics.auctions.inc({ outcome: 'waiting' });
      this.o.logger.debug({ jobId: job.jobId, ineligible: auction.ineligible }, 'no worker free; segment waits');
    }
  }

  /** An idle orchestrator costs a Redis script a second here, not ten. */
  private tick(): void {
    const now = Date.now();
    const idle = this.waiting.size === 0 && this.checksWaiting.size === 0 && now > this.busyUntil;
    if (idle && now - this.lastTick < IDLE_TICK_MS) return;
    this.lastTick = now;
    this.pump();
  }

  /** Deadline passes, waiting segments, in one serialized loop (never two at once per process). */
  private pump(): void {
    if (this.closed) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = (async () => {
      do {
        this.pumpAgain = false;
        try {
          for (const { jobId, worker } of await this.o.registry.expired(Date.now(), this.lateGraceMs())) await this.onDeadlineMissed(jobId, worker);
          // Oldest first, as many at once as there are free slots (one at a time would cap the
          // drain rate at one segment per two round trips).
          let progressed = true;
          while (progressed && this.waiting.size > 0 && !this.closed) {
            const before = this.waiting.size;
            const batch = [...this.waiting.values()].slice(0, Math.max(1, await this.freeSlots()));
            await Promise.all(batch.map((w) => this.retryWaiting(w)));
            progressed = this.waiting.size < before;
          }
          for (const [jobId, c] of this.checksWaiting) {
            if (this.waiting.size > 0) break; // live segments first
            const outcome = Date.now() - c.since > this.o.waitLimitMs ? 'none' : await this.sendCheck(c.job, c.checked);
            if (outcome === 'queued') continue;
            this.checksWaiting.delete(jobId);
            if (outcome === 'none') for (const h of this.checkHandlers) h(c.job);
          }
        } catch (err) {
          this.o.logger.warn({ err }, 'dispatch loop failed; retrying');
        }
      } while (this.pumpAgain && !this.closed);
    })().finally(() => {
      this.pumping = null;
    });
  }

  private async retryWaiting(w: Waiting): Promise<void> {
    if (w.tried.size > 0 && (await this.isDone(w.job.jobId))) await this.unwait(w.job.jobId);
    // A segment whose slow worker is alive and still on it is not given up: its late result counts.
    else if (Date.now() - w.since > this.o.waitLimitMs && !(w.tried.size > 0 && (await this.o.registry.held(w.job.jobId, w.tried)))) {
      await this.giveUp(w.job, 'no-worker', `no worker free within ${this.o.waitLimitMs} ms`);
    }
    else await this.dispatch(w.job, w.tried, w.tried.size > 0 ? 'missed' : 'new');
  }

  /** Free slots of online workers, as the latest snapshot (adjusted locally) has them. */
  private async freeSlots(): Promise<number> {
    const cs = await this.candidates();
    return cs.reduce((n, c) => n + (c.heartbeatFresh ? Math.max(0, c.capabilities.maxConcurrent - c.inflight) : 0), 0);
  }

  private async onDeadlineMissed(jobId: string, worker: string): Promise<void> {
    this.o.metrics.deadlinesMissed.inc();
    this.snapshot = null;
    const job = await this.get(jobId);
    await this.o.registry.recordOutcome(worker, false, job ? this.budgetMs(job) / (job.source.durationSec * 1000 || 1) : undefined);
    // Not started yet? Take it off the slow worker's queue (an active one cannot be removed: its
    // late result still counts if it is the first valid one).
    const queued = await this.queue(worker).getJob(jobId);
    if (queued && (await queued.remove().then(() => true, () => false))) await this.o.registry.settle(jobId, worker, false, 0, 1);
    if (!job) return;
    const check = await this.checkOf(jobId, worker);
    if (check) {
      // A verifier that went quiet: ask another one (its late answer still counts if it comes).
      if ((await this.enqueueCheck(job, check)) === 'none') for (const h of this.checkHandlers) h(job);
      return;
    }
    if (await this.isDone(jobId)) return;
    this.o.logger.info({ jobId, worker }, 'deadline missed; re-auctioning the segment');
    await this.dispatch(job, new Set(await this.o.registry.tried(jobId)), 'missed');
  }

  private async giveUp(job: SegmentJob, reason: SkipReason, detail: string): Promise<void> {
    await this.unwait(job.jobId);
    // NX: whichever orchestrator gets here first skips the segment, once.
    if ((await this.o.redis.set(this.key.done(job.jobId), 'gave-up', 'PX', JOB_TTL_MS, 'NX')) !== 'OK') return;
    this.o.metrics.auctions.inc({ outcome: 'gave-up' });
    for (const h of this.handlers) h(job, reason, detail);
  }

  private async isDone(jobId: string): Promise<boolean> {
    return (await this.o.redis.exists(this.key.done(jobId))) === 1;
  }

  /** How often a late claim's worker is checked for life (it keeps the slot while alive). */
  private lateGraceMs(): number {
    return Math.max(this.o.deadline.minMs, Math.round(2000 * this.o.deadline.factor));
  }

  /** The orchestrator's rules, with the stream's own price cap when it is lower. */
  private rulesFor(job: SegmentJob): MarketDispatcherOptions['rules'] & { maxPendingChecks?: number } {
    const rules = { ...this.o.rules, ...(this.o.pendingChecks ? { maxPendingChecks: this.o.pendingChecks.limit } : {}) };
    if (job.maxPricePerPixel === undefined) return rules;
    const cap = BigInt(job.maxPricePerPixel);
    return { ...rules, maxPricePerPixel: cap < rules.maxPricePerPixel ? cap : rules.maxPricePerPixel };
  }

  private budgetMs(job: SegmentJob): number {
    return Math.max(this.o.deadline.minMs, Math.round(job.source.durationSec * 1000 * this.o.deadline.factor));
  }

  /**
   * The registry as of at most ~resyncMs ago (RELOAD_MIN_MS when the view said someone was full),
   * reloaded at once on a pushed change. A stale snapshot is still served while a fresh one loads
   * in the background, so no auction waits on the reload (claims keep slots exact anyway).
   * Heartbeat freshness is recomputed at each use from when each worker was last seen.
   */
  private candidates(): Promise<Candidate[]> {
    const now = Date.now();
    // Too old to trust (idle for a while: workers came and went): wait for a fresh one.
    if (!this.snapshot || now - this.snapshot.at > STALE_MAX_MS) return this.reload(now).then((cs) => fresh(cs, now));
    const age = now - this.snapshot.at;
    if (!this.reloading && (age > this.resyncMs || (this.wantReload && age > RELOAD_MIN_MS))) {
      this.reloading = true;
      this.wantReload = false;
      void this.reload(now)
        .catch(() => {})
        .finally(() => (this.reloading = false));
    }
    return this.snapshot.load.then((cs) => fresh(cs, now));
  }

  /** The registry's candidates, with each one's open checks. */
  private async loadCandidates(): Promise<Candidate[]> {
    const cs = await this.o.registry.candidates();
    if (!this.o.pendingChecks) return cs;
    const open = await this.o.pendingChecks.counts(cs.map((c) => c.worker));
    return cs.map((c, i) => ({ ...c, checksPending: open[i] }));
  }

  private reload(now: number): Promise<Candidate[]> {
    const load = this.loadCandidates();
    load.then(
      () => {
        // Swap in only once loaded, so callers never wait on a reload in flight.
        if (!this.snapshot || this.snapshot.at <= now) this.snapshot = { at: now, load };
      },
      () => {
        if (this.snapshot?.load === load) this.snapshot = null; // never serve a failed load
      },
    );
    if (!this.snapshot || now - this.snapshot.at > STALE_MAX_MS) this.snapshot = { at: now, load };
    return load;
  }

  private freeSlotInSnapshot(worker: string): void {
    void this.snapshot?.load.then((cs) => {
      const c = cs.find((x) => x.worker === worker);
      if (c && c.inflight > 0) c.inflight -= 1;
    }, () => {});
  }

  private queue(worker: string): Queue<TranscodeJob> {
    let q = this.queues.get(worker);
    if (!q) {
      q = new Queue<TranscodeJob>(workerQueueName(worker), {
        connection: this.o.redis,
        prefix: this.o.prefix,
        // One attempt per worker: failover is the auction's job, not BullMQ's retries.
        defaultJobOptions: { attempts: 1, removeOnComplete: true, removeOnFail: { age: 3600 } },
      });
      // Without a listener a lost Redis connection prints every reconnect error to stderr.
      q.on('error', (err) => this.o.logger.debug({ err: err.message, worker }, 'worker queue connection problem'));
      this.queues.set(worker, q);
    }
    return q;
  }
}

/** Heartbeat freshness as of `now` (a cached view's flags would otherwise age with it). */
function fresh(cs: Candidate[], now: number): Candidate[] {
  for (const c of cs) if (c.freshUntil !== undefined) c.heartbeatFresh = c.freshUntil > now;
  return cs;
}
