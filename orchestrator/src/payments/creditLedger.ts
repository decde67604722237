import { readFileSync } from 'node:fs';
import type { RedisClient } from '../redis/redisClient.js';

const SCRIPTS = {
  segmintPay: { numberOfKeys: 2, lua: readFileSync(new URL('./lua/pay-2.lua', import.meta.url), 'utf8') },
  segmintClawBack: { numberOfKeys: 2, lua: readFileSync(new URL('./lua/clawback-2.lua', import.meta.url), 'utf8') },
};
type Commands = {
  segmintPay(...a: (string | number)[]): Promise<[string, string, string?]>;
  segmintClawBack(...a: (string | number)[]): Promise<[string, string?]>;
};

/** What one accepted result was paid with: enough to rebuild (and re-sign) the same tickets. */
export type PaymentPlan = {
  jobId: string;
  worker: string;
  faceValue: string;
  winProb: string;
  recipientRandHash: `0x${string}`;
  expiry: number;
  count: number;
  owed: string;
  pricePerPixel: string;
  pixels: string;
  /** Credit left with the worker after this payment. */
  credit: string;
  unpaid?: string;
};

export type BookedPayment = PaymentPlan & { nonceStart: bigint };

/**
 * Redis keys of payments: tagged by worker, so a booking's two keys share one Redis Cluster slot.
 * `plans` is a SCAN pattern matching every plan.
 */
export const paymentKeys = (prefix: string) => ({
  credit: (worker: string) => `${prefix}:pay:{w:${worker.toLowerCase()}}:credit`,
  plan: (jobId: string, worker: string) => `${prefix}:pay:{w:${worker.toLowerCase()}}:plan:${jobId}`,
  plans: `${prefix}:pay:{w:*}:plan:*`,
});

/** A plan is kept this long: a worker retrying a result later than this is not paid again either way (the job is gone). */
const PLAN_TTL_SEC = 7 * 86_400;

/**
 * Per-worker credit in RedisClient, as go-livepeer's balances: what the orchestrator owes a worker for
 * accepted results minus the expected value of the tickets sent. Every booking is one Lua call
 * (compare-and-set of the decimal balance), idempotent per (job, worker).
 */
export class CreditLedger {
  private readonly redis: RedisClient & Commands;
  private readonly k: ReturnType<typeof paymentKeys>;
  constructor(redis: RedisClient, prefix: string) {
    this.k = paymentKeys(prefix);
    for (const [name, def] of Object.entries(SCRIPTS)) if (!(name in redis)) redis.defineCommand(name, def);
    this.redis = redis as RedisClient & Commands;
  }

  private creditKey = (worker: string) => this.k.credit(worker);
  private planKey = (jobId: string, worker: string) => this.k.plan(jobId, worker);

  /** The worker's credit (wei the orchestrator owes it beyond the tickets sent) and next sender nonce. */
  async credit(worker: string): Promise<{ balance: bigint; nonce: bigint }> {
    const [balance, nonce] = await this.redis.hmget(this.creditKey(worker), 'balance', 'nonce');
    return { balance: BigInt(balance ?? '0'), nonce: BigInt(nonce ?? '0') };
  }

  /** The payment booked for a job, if any. */
  async booked(jobId: string, worker: string): Promise<BookedPayment | null> {
    const [start, plan] = await this.redis.hmget(this.planKey(jobId, worker), 'nonceStart', 'plan');
    return start && plan ? { ...(JSON.parse(plan) as PaymentPlan), nonceStart: BigInt(start) } : null;
  }

  /**
   * Takes a job's `owed` back from the worker's credit: its result was proven wrong after it was
   * paid (tickets cannot be recalled, so the next payments make up for it). Once per job; false
   * when already done or the job was never paid.
   */
  async clawBack(jobId: string, worker: string): Promise<boolean> {
    const plan = await this.booked(jobId, worker);
    if (!plan) return false;
    let read = (await this.credit(worker)).balance;
    for (let attempt = 0; attempt < 100; attempt++) {
      const [status, balance] = await this.redis.segmintClawBack(
        this.creditKey(worker), this.planKey(jobId, worker), read.toString(), (read - BigInt(plan.owed)).toString(),
      );
      if (status !== 'retry') return status === 'clawed';
      read = BigInt(balance!);
    }
    throw new Error(`credit of ${worker} kept moving: could not claw back job ${jobId}`);
  }

  /**
   * Adds `owed` to the worker's credit and takes out as many tickets of `ev` as it covers (at most
   * `maxTickets`; none when `canPay` is false). Returns the booking, or the earlier one for the job.
   */
  async book(
    base: Omit<PaymentPlan, 'count' | 'credit'>,
    ev: bigint,
    opts: { maxTickets: number; canPay: boolean },
  ): Promise<BookedPayment> {
    if (ev <= 0n) throw new RangeError('ticket EV must be positive');
    let read = (await this.credit(base.worker)).balance;
    for (let attempt = 0; attempt < 100; attempt++) {
      const total = read + BigInt(base.owed);
      // Credit below zero (a clawed-back result) is paid off before any new ticket.
      let count = opts.canPay && total > 0n ? total / ev : 0n;
      if (count > BigInt(opts.maxTickets)) count = BigInt(opts.maxTickets);
      const credit = total - count * ev;
      const plan: PaymentPlan = { ...base, count: Number(count), credit: credit.toString() };
      const [status, a, b] = await this.redis.segmintPay(
        this.creditKey(base.worker), this.planKey(base.jobId, base.worker),
        read.toString(), credit.toString(), Number(count), JSON.stringify(plan), PLAN_TTL_SEC,
      );
      if (status === 'paid') return { ...(JSON.parse(b!) as PaymentPlan), nonceStart: BigInt(a) };
      read = BigInt(a);
    }
    throw new Error(`credit of ${base.worker} kept moving: could not book job ${base.jobId}`);
  }
}
