import type { ChildProcess } from 'node:child_process';
import { createServer, request, type Server } from 'node:http';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { concat, keccak256, toHex, type Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { generateSegments } from '@segmint/media';
import { batchTickets, isWinningTicket, type TicketBatch } from '@segmint/protocol';
import { ANVIL_KEYS, deploySegmint, startAnvil, type Anvil, type Deployment } from '@segmint/contracts';
import { openDatabase, type Database } from '../orchestrator/src/db/database.js';
import { CreditLedger } from '../orchestrator/src/payments/creditLedger.js';
import { PaymentJournal } from '../worker/src/payments/paymentJournal.js';
import { TicketStore } from '../worker/src/payments/ticketStore.js';
import { paymentJournalPath, ticketBookPath } from '../worker/src/payments/workerPayments.js';
import { api, REDIS_URL, spawnWorker, startTestOrchestrator, stopProcess, waitFor, type TestOrchestrator } from './helpers.js';

// No ticket lost, with real processes on a real anvil: a worker kill -9'd after the orchestrator
// booked its payment and before it stored the tickets asks for them again when restarted; a
// worker whose answer is lost on the way posts again and gets the very same batch.
const E18 = 10n ** 18n;
const FACE = 10n ** 15n;
const WIN = '9/10';
const PRICE = 900_000_000n; // ~3 tickets per 2 s 320x180 segment
const SENDER_KEY = ANVIL_KEYS[1] as Hex;
const PROFILES = [{ name: 'low', width: 320, height: 180, bitrate: 200_000 }];

let anvil: Anvil;
let deployment: Deployment;
let db: Database;
let dir: string;
let segment: Buffer;
let redis: Redis;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'segmint-durable-pay-'));
  anvil = await startAnvil();
  const [d, database, files] = await Promise.all([
    deploySegmint({ rpcUrl: anvil.rpcUrl, deployerKey: ANVIL_KEYS[0] }),
    openDatabase(),
    generateSegments({ dir, count: 1, width: 640, height: 360 }),
  ]);
  deployment = d;
  db = database;
  segment = await readFile(files[0]!);
  redis = new Redis(REDIS_URL);
}, 180_000);

afterAll(async () => {
  redis?.disconnect();
  await db?.close();
  await anvil?.stop();
  await rm(dir, { recursive: true, force: true });
});

const orchestrator = (env: Record<string, string> = {}) =>
  startTestOrchestrator(db, {
    CHAIN_RPC_URL: anvil.rpcUrl,
    SEGMINT_CHAIN_ID: String(deployment.chainId),
    SEGMINT_TICKET_BROKER: deployment.contracts.TicketBroker,
    SENDER_PRIVATE_KEY: SENDER_KEY,
    SEGMINT_DEADLINE_FACTOR: '30',
    ...env,
  });

function startWorker(orch: TestOrchestrator, key: Hex, book: string, env: Record<string, string> = {}): ChildProcess {
  return spawnWorker(orch, [
    '--key', key, '--concurrency', '1', '--price', PRICE.toString(),
    '--chain-rpc-url', anvil.rpcUrl, '--ticket-broker', deployment.contracts.TicketBroker,
    '--face-value', FACE.toString(), '--win-prob', WIN, '--payments-dir', book, '--redeem-interval-ms', '3600000',
  ], env);
}

async function readBook(book: string, address: string): Promise<TicketStore> {
  const s = await TicketStore.open(ticketBookPath(book, address as Hex));
  await s.close();
  return s;
}

async function unpaid(book: string, address: string): Promise<string[]> {
  const j = await PaymentJournal.open(paymentJournalPath(book, address as Hex));
  await j.close();
  return j.unpaid().map((e) => e.jobId);
}

/** One segment of a new stream pushed; its job id. */
async function pushOne(orch: TestOrchestrator, name: string): Promise<string> {
  const stream = (await api(orch, 'POST', '/api/stream', { name, profiles: PROFILES })).json;
  const res = await fetch(`${orch.url}/live/${stream.streamKey}/0.ts`, { method: 'PUT', headers: { 'content-type': 'video/mp2t' }, body: new Uint8Array(segment) });
  expect(res.status).toBe(200);
  return `${stream.id}.1.0`;
}

/** The worker's winning tickets in `batch`: what its ticket book must hold for the job. */
async function winnersOf(key: Hex, jobId: string, batch: TicketBatch): Promise<string[]> {
  const seed = keccak256(await privateKeyToAccount(key).signMessage({ message: 'segmint ticket seed v1' }));
  const rand = BigInt(keccak256(concat([seed, toHex(jobId)])));
  return batchTickets(batch).filter((t) => isWinningTicket(t.signature, rand, t.ticket.winProb)).map((t) => t.ticket.senderNonce.toString()).sort();
}

/** Checks the book's record of `jobId` against the orchestrator's ledger and the booked batch. */
async function expectStoredAsBooked(orch: TestOrchestrator, key: Hex, book: string, jobId: string): Promise<void> {
  const address = privateKeyToAccount(key).address;
  const booked = (await new CreditLedger(redis, orch.prefix).booked(jobId, address))!;
  expect(booked.count).toBeGreaterThan(0);
  const stored = (await readBook(book, address)).batches.get(jobId)!;
  expect({ count: stored.count, owed: stored.owed, credit: stored.credit, pixels: stored.pixels }).toEqual({
    count: booked.count, owed: booked.owed, credit: booked.credit, pixels: booked.pixels,
  });
  const batch = orch.pipeline.payments!.batch(booked, address);
  const wins = [...(await readBook(book, address)).wins.values()].filter((w) => w.jobId === jobId).map((w) => w.ticket.senderNonce).sort();
  expect(wins).toEqual(await winnersOf(key, jobId, batch));
  expect(wins.length).toBeGreaterThan(0);
  // Booked once: the sender's next nonce for this worker is right after this batch.
  expect((await new CreditLedger(redis, orch.prefix).credit(address)).nonce).toBe(booked.nonceStart + BigInt(booked.count));
}

describe('durable worker payments', () => {
  it('a worker kill -9\'d after its payment was booked, before storing it, stores the booked tickets after a restart', async () => {
    const orch = await orchestrator();
    const key = generatePrivateKey();
    const address = privateKeyToAccount(key).address;
    const book = join(dir, 'crash-book');
    let w = startWorker(orch, key, book, { SEGMINT_WORKER_TEST_CRASH_AFTER_RESULT: '1' });
    try {
      const exited = new Promise<NodeJS.Signals | null>((r) => w.once('exit', (_code, signal) => r(signal)));
      await waitFor('worker online', async () => ((await (await fetch(`${orch.url}/marketplace/workers`)).json()) as { online: boolean }[]).some((x) => x.online), 60_000, 200);
      const jobId = await pushOne(orch, 'crash');
      expect(await exited).toBe('SIGKILL');
      // Booked by the orchestrator, not in the worker's book, waiting in its journal.
      expect(await new CreditLedger(redis, orch.prefix).booked(jobId, address)).not.toBeNull();
      expect((await readBook(book, address)).batches.has(jobId)).toBe(false);
      expect(await unpaid(book, address)).toEqual([jobId]);

      w = startWorker(orch, key, book);
      await waitFor('the booked tickets in the restarted worker\'s book', async () => (await readBook(book, address)).batches.has(jobId), 60_000, 200);
      await expectStoredAsBooked(orch, key, book, jobId);
      await waitFor('the journal entry dropped', async () => (await unpaid(book, address)).length === 0, 10_000, 100);
    } finally {
      await stopProcess(w);
      await orch.stop();
    }
  }, 240_000);

  it('an answer lost on the way: the worker posts again and stores the very same batch, booked once', async () => {
    // Workers reach the orchestrator through a proxy that cuts the first answer to a result POST
    // after the orchestrator has sent it (so the payment is booked, and the worker never sees it).
    let target = '';
    const posts: { path: string; dropped: boolean; body: string }[] = [];
    const proxy: Server = createServer((req, res) => {
      const isResult = req.method === 'POST' && /^\/transcode\/[^/]+\/[^/]+$/.test(req.url ?? '');
      const up = request(`${target}${req.url}`, { method: req.method, headers: req.headers }, (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (c: Buffer) => chunks.push(c));
        answer.on('end', () => {
          const body = Buffer.concat(chunks);
          if (isResult) {
            const dropped = posts.every((p) => !p.dropped);
            posts.push({ path: req.url!, dropped, body: body.toString() });
            if (dropped) return void req.socket.destroy();
          }
          res.writeHead(answer.statusCode!, answer.headers).end(body);
        });
      });
      up.on('error', () => res.destroy());
      req.pipe(up);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const orch = await orchestrator({ SEGMINT_PUBLIC_URL: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}` });
    target = orch.url;
    const key = generatePrivateKey();
    const book = join(dir, 'lost-book');
    const w = startWorker(orch, key, book);
    try {
      await waitFor('worker online', async () => ((await (await fetch(`${orch.url}/marketplace/workers`)).json()) as { online: boolean }[]).some((x) => x.online), 60_000, 200);
      const jobId = await pushOne(orch, 'lost');
      await waitFor('the tickets in the worker\'s book', async () => (await readBook(book, privateKeyToAccount(key).address)).batches.has(jobId), 60_000, 200);
      expect(posts.length).toBe(2);
      expect(posts.map((p) => p.dropped)).toEqual([true, false]);
      // The answer the worker never saw and the one it got carry the same tickets.
      const [lost, got] = posts.map((p) => JSON.parse(p.body) as { status: string; payment: TicketBatch });
      expect(lost!.status).toBe('accepted');
      // (the recipient address may differ in letter case only: the same address, the same signatures)
      const same = (b: TicketBatch) => ({ ...b, recipient: b.recipient.toLowerCase() });
      expect(same(got!.payment)).toEqual(same(lost!.payment));
      await expectStoredAsBooked(orch, key, book, jobId);
      expect(await unpaid(book, privateKeyToAccount(key).address)).toEqual([]);
    } finally {
      await stopProcess(w);
      await orch.stop();
      await new Promise((r) => proxy.close(r));
    }
  }, 240_000);
});
