import type { Redis } from 'ioredis';
import { privateKeyToAccount } from 'viem/accounts';
import type { Hex } from 'viem';
import { TicketStore } from '../worker/src/payments/ticketStore.js';
import { ticketBookPath } from '../worker/src/payments/workerPayments.js';
import { paymentKeys, type PaymentPlan } from '../orchestrator/src/payments/creditLedger.js';

type Plan = PaymentPlan & { nonceStart: bigint };

export type Accounts = {
  /** Results paid (a plan booked): their job ids, and tickets in those plans. */
  paidJobs: Set<string>;
  ticketsBooked: number;
  /** Tickets of booked plans the workers' books hold. */
  ticketsStored: number;
  /** Booked plans no worker book holds (lost tickets). */
  plansMissing: string[];
  /** Winning tickets in the books, and how many were redeemed on-chain (or found redeemed already). */
  wins: number;
  redeemed: number;
  /** Σ over workers of |credit balance the ledger holds − the credit its last booked plan left| (wei). */
  creditDrift: bigint;
};

/** Every booked payment plan of the run, from the orchestrators' ledger in Redis. */
async function plans(redis: Redis, prefix: string): Promise<Plan[]> {
  const out: Plan[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', paymentKeys(prefix).plans, 'COUNT', 500);
    cursor = next;
    for (const key of keys) {
      const [start, plan] = await redis.hmget(key, 'nonceStart', 'plan');
      if (start && plan) out.push({ ...(JSON.parse(plan) as PaymentPlan), nonceStart: BigInt(start) });
    }
  } while (cursor !== '0');
  return out;
}

/**
 * Tickets booked by the orchestrators against what the workers stored and redeemed, and credit:
 * a worker's balance in the ledger must be the credit its last booked plan (in nonce order) left;
 * a booking lost or overwritten shows as drift.
 */
export async function reconcile(redis: Redis, prefix: string, books: { key: Hex; dir: string }[]): Promise<Accounts> {
  const all = await plans(redis, prefix);
  const acc: Accounts = { paidJobs: new Set(all.map((p) => p.jobId)), ticketsBooked: 0, ticketsStored: 0, plansMissing: [], wins: 0, redeemed: 0, creditDrift: 0n };
  for (const { key, dir } of books) {
    const address = privateKeyToAccount(key).address;
    const mine = all.filter((p) => p.worker.toLowerCase() === address.toLowerCase()).sort((a, b) => (a.nonceStart < b.nonceStart ? -1 : 1));
    const store = await TicketStore.open(ticketBookPath(dir, address));
    await store.close();
    for (const p of mine) {
      acc.ticketsBooked += p.count;
      const stored = store.batches.get(p.jobId);
      if (stored && stored.count === p.count) acc.ticketsStored += p.count;
      else acc.plansMissing.push(`${p.jobId} (${address.slice(0, 8)})`);
    }
    const s = store.summary();
    acc.wins += s.won;
    acc.redeemed += s.redeemed + s['already-redeemed'];
    const balance = BigInt((await redis.hget(paymentKeys(prefix).credit(address), 'balance')) ?? '0');
    const last = mine.at(-1);
    acc.creditDrift += abs(balance - (last ? BigInt(last.credit) : 0n));
  }
  return acc;
}

/** Pending winning tickets in the workers' books (redemption still to come). */
export async function pendingWins(books: { key: Hex; dir: string }[]): Promise<number> {
  let n = 0;
  for (const { key, dir } of books) {
    const store = await TicketStore.open(ticketBookPath(dir, privateKeyToAccount(key).address));
    await store.close();
    n += store.pending().length;
  }
  return n;
}

const abs = (x: bigint) => (x < 0n ? -x : x);
