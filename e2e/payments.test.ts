import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { createPublicClient, createWalletClient, http, type Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';
import { generateSegments, segmentFacts, transcodeSegment } from '@segmint/media';
import { batchTickets, recipientRandHash, ticketBrokerAbi, ticketEV, TicketCodec, TicketVerifier, winProbability, commitmentEntries, type ResultResponse } from '@segmint/protocol';
import { ANVIL_KEYS, deploySegmint, startAnvil, type Anvil, type Deployment } from '@segmint/contracts';
import { openDatabase, type Database } from '../orchestrator/src/db/database.js';
import { TicketStore } from '../worker/src/payments/ticketStore.js';
import { ticketBookPath } from '../worker/src/payments/workerPayments.js';
import { api, onlineWorkers, spawnWorker, startTestOrchestrator, stopProcess, testWorker, waitFor, workerCli, type TestOrchestrator } from './helpers.js';

// Payments on a real anvil with the real contracts, real Redis, real ffmpeg: a worker transcodes a
// 20 s stream, is paid in tickets worth price × pixels, and redeems its winners on-chain.
const E18 = 10n ** 18n;
const FACE = 10n ** 15n; // 0.001 ETH
const WIN = '9/10'; // high, so a 10-segment stream surely has winners
const PRICE = 300_000_000n; // wei per pixel: ~1 ticket per 2 s 320x180 segment
const SENDER_KEY = ANVIL_KEYS[1] as Hex;

let anvil: Anvil;
let deployment: Deployment;
let db: Database;
let orch: TestOrchestrator;
let dir: string;
let segments: Buffer[];
const workerKey = generatePrivateKey();
const worker = privateKeyToAccount(workerKey).address;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'segmint-pay-'));
  anvil = await startAnvil();
  deployment = await deploySegmint({ rpcUrl: anvil.rpcUrl, deployerKey: ANVIL_KEYS[0], fund: [{ address: worker, eth: E18, tokens: 0n }] });
  const [database, files] = await Promise.all([openDatabase(), generateSegments({ dir, count: 10, width: 640, height: 360 })]);
  db = database;
  segments = await Promise.all(files.map((f) => readFile(f)));
  orch = await startTestOrchestrator(db, {
    CHAIN_RPC_URL: anvil.rpcUrl,
    SEGMINT_CHAIN_ID: String(deployment.chainId),
    SEGMINT_TICKET_BROKER: deployment.contracts.TicketBroker,
    SENDER_PRIVATE_KEY: SENDER_KEY,
    SEGMINT_DEADLINE_FACTOR: '30',
  });
}, 180_000);

afterAll(async () => {
  await orch?.stop();
  await db?.close();
  await anvil?.stop();
  await rm(dir, { recursive: true, force: true });
});

const client = () => createPublicClient({ chain: { ...foundry, id: deployment.chainId }, transport: http(anvil.rpcUrl) });

function startWorker(extra: string[] = []): ChildProcess {
  return spawnWorker(orch, [
    '--key', workerKey, '--concurrency', '1', '--price', PRICE.toString(),
    '--chain-rpc-url', anvil.rpcUrl, '--ticket-broker', deployment.contracts.TicketBroker,
    '--face-value', FACE.toString(), '--win-prob', WIN, '--payments-dir', join(dir, 'book'), '--redeem-interval-ms', '500',
    ...extra,
  ]);
}

/** The worker's ticket book as it is on disk now. */
async function book(): Promise<TicketStore> {
  const s = await TicketStore.open(ticketBookPath(join(dir, 'book'), worker));
  await s.close();
  return s;
}

async function push(streamKey: string, from: number, to: number): Promise<void> {
  for (let seq = from; seq < to; seq++) {
    const res = await fetch(`${orch.url}/live/${streamKey}/${seq}.ts`, { method: 'PUT', headers: { 'content-type': 'video/mp2t' }, body: new Uint8Array(segments[seq % segments.length]!) });
    expect(res.status).toBe(200);
  }
}

describe('ticket payments', () => {
  it('a 20 s stream: tickets worth price × pixels (within one ticket\'s EV), winners redeemed, balance up by face values minus gas', async () => {
    const balanceBefore = await client().getBalance({ address: worker });
    const w = startWorker();
    try {
      await waitFor('worker online', async () => ((await (await fetch(`${orch.url}/marketplace/workers`)).json()) as { address: string; online: boolean }[]).some((x) => x.online), 60_000, 200);
      const stream = (await api(orch, 'POST', '/api/stream', { name: 'paid', profiles: [{ name: 'low', width: 320, height: 180, bitrate: 200_000 }] })).json;
      await push(stream.streamKey, 0, 10);
      const paid = await waitFor('10 results paid', async () => {
        const b = await book();
        return b.batches.size >= 10 && b;
      }, 180_000, 500);
      const ev = ticketEV(FACE, winProbability(9n, 10n));
      const batches = [...paid.batches.values()].sort((a, b) => a.at - b.at);
      let owed = 0n;
      let evSent = 0n;
      for (const b of batches) {
        expect(BigInt(b.pricePerPixel)).toBe(PRICE);
        expect(BigInt(b.pixels) % (320n * 180n)).toBe(0n); // Σ width × height × frames of the one rendition
        expect(BigInt(b.pixels) / (320n * 180n)).toBeGreaterThanOrEqual(50n); // ~60 frames in 2 s
        expect(BigInt(b.owed)).toBe(PRICE * BigInt(b.pixels));
        owed += BigInt(b.owed);
        evSent += BigInt(b.ev);
        expect(BigInt(b.ev)).toBe(ev * BigInt(b.count));
      }
      const credit = BigInt(batches.at(-1)!.credit);
      expect(owed - evSent).toBe(credit);
      expect(credit).toBeGreaterThanOrEqual(0n);
      expect(credit).toBeLessThan(ev);
      expect(paid.wins.size).toBeGreaterThan(0);

      const settled = await waitFor('every winner redeemed', async () => {
        const b = await book();
        return b.pending().length === 0 && b.fates.size === b.wins.size && b;
      }, 120_000, 500);
      const fates = [...settled.fates.values()];
      expect(fates.every((f) => f.fate === 'redeemed')).toBe(true);
      const redeemedWei = fates.reduce((s, f) => s + BigInt(f.wei!), 0n);
      expect(redeemedWei).toBe(FACE * BigInt(settled.wins.size));
      let gas = 0n;
      for (const tx of new Set(fates.map((f) => f.tx!))) {
        const r = await client().getTransactionReceipt({ hash: tx });
        gas += r.gasUsed * r.effectiveGasPrice;
      }
      expect(await client().getBalance({ address: worker })).toBe(balanceBefore + redeemedWei - gas);

      const earnings = await workerCli(['earnings', '--key', workerKey, '--chain-rpc-url', anvil.rpcUrl, '--ticket-broker', deployment.contracts.TicketBroker, '--payments-dir', join(dir, 'book')]);
      expect(earnings.code).toBe(0);
      expect(earnings.out).toContain(`redeemed: ${settled.wins.size}  pending: 0`);
      expect(earnings.out).toContain(`(${redeemedWei} wei)`);
    } finally {
      await stopProcess(w);
    }
  }, 300_000);

  it('pays only an accepted result, over HTTP: a refused one gets nothing, a retried POST gets the very same tickets', async () => {
    const cheater = await testWorker(orch, { pricePerPixel: PRICE / 2n }); // cheaper: wins first
    const honest = await testWorker(orch, { pricePerPixel: PRICE });
    try {
      // only these two bid (the worker process of the test before has stopped heartbeating)
      await waitFor('only the two test workers online', async () => (await onlineWorkers(orch)).length === 2, 30_000, 200);
      const stream = (await api(orch, 'POST', '/api/stream', { name: 'http-pay', profiles: [{ name: 'low', width: 320, height: 180, bitrate: 200_000 }] })).json;
      await push(stream.streamKey, 0, 1);
      const jobId = `${stream.id}.1.0`;
      const job = await cheater.job(jobId);
      const auth = { authorization: `Bearer ${job.token}` };
      const post = (body: unknown) => fetch(job.resultUrl, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const params = (recipient: string) => ({ recipient, faceValue: FACE.toString(), winProb: winProbability(1n, 2n).toString(), recipientRandHash: recipientRandHash(99n), expiry: Math.floor(Date.now() / 1000) + 3600 });

      // The source uploaded as the 320x180 rendition.
      const facts = segmentFacts(segments[0]!);
      const bogus = { name: 'low', sha256: facts.videoSha256, width: 320, height: 180, frames: facts.frames, durationSec: facts.durationSec, bytes: segments[0]!.length };
      await fetch(`${job.resultUrl}/low.ts`, { method: 'PUT', headers: { ...auth, 'content-type': 'video/mp2t' }, body: new Uint8Array(segments[0]!) });
      const bogusResult = { renditions: [bogus], encoderFingerprint: 'test', workerId: 'cheat', transcodeMs: 1, commitment: await cheater.client.commit(jobId, commitmentEntries([bogus], 'test')) };
      // Parameters the sender will not sign (tickets for someone else): 422 TICKET_PARAMS_INVALID.
      const wrongRecipient = await post({ ...bogusResult, ticketParams: params(honest.address) });
      expect(((await wrongRecipient.json()) as { error: { code: string } }).error.code).toBe('TICKET_PARAMS_INVALID');
      // A result that fails the checks: 422 CHECK_FAILED and no payment.
      const refused = await post({ ...bogusResult, ticketParams: params(cheater.address) });
      expect(refused.status).toBe(422);
      const refusedBody = JSON.stringify(await refused.json());
      expect(refusedBody).toContain('CHECK_FAILED');
      expect(refusedBody).not.toContain('signatures');

      // The segment goes to the honest worker; its transcode is accepted and paid.
      const again = await honest.job(jobId);
      const auth2 = { authorization: `Bearer ${again.token}` };
      const src = join(dir, 'http-src.ts');
      await writeFile(src, segments[0]!);
      const out = await transcodeSegment({ input: src, source: facts, profiles: again.profiles, outDir: join(dir) });
      const { path: _p, data, ...low } = out.renditions[0]!;
      await fetch(`${again.resultUrl}/low.ts`, { method: 'PUT', headers: { ...auth2, 'content-type': 'video/mp2t' }, body: new Uint8Array(data) });
      const result = { renditions: [low], encoderFingerprint: 'test', workerId: 'honest', transcodeMs: 1, commitment: await honest.client.commit(jobId, commitmentEntries([low], 'test')), ticketParams: params(honest.address) };
      const postAgain = () => fetch(again.resultUrl, { method: 'POST', headers: { ...auth2, 'content-type': 'application/json' }, body: JSON.stringify(result) });
      const accepted = (await (await postAgain()).json()) as ResultResponse;
      expect(accepted.status).toBe('accepted');
      const payment = accepted.payment!;
      expect(BigInt(payment.owed)).toBe(PRICE * 320n * 180n * BigInt(low.frames));
      const verifier = new TicketVerifier(payment.sender, new TicketCodec(deployment.chainId, deployment.contracts.TicketBroker));
      for (const { ticket, signature } of batchTickets(payment)) expect(verifier.verify(ticket, signature)).toBe(true);
      expect(BigInt(payment.credit) + BigInt(payment.nonces.length) * ticketEV(FACE, winProbability(1n, 2n))).toBe(BigInt(payment.owed));
      // The answer was lost; the worker retries: the same tickets, nothing new.
      const retried = (await (await postAgain()).json()) as ResultResponse;
      expect(retried).toMatchObject({ status: 'accepted', published: 0 });
      expect(retried.payment).toEqual(payment);
      expect(await (await fetch(`${orch.url}/metrics`)).text()).toMatch(/^segmint_tickets_sent_total [1-9]/m);
    } finally {
      await cheater.stop();
      await honest.stop();
    }
  }, 120_000);

  it('kill -9 after a winning ticket was acknowledged: redeemed after restart; and before the sender\'s unlock period ends', async () => {
    const before = await book();
    const wonBefore = before.wins.size;
    // Gas "too high" (max 0): winners wait, as they would on a busy chain.
    let w = startWorker(['--max-gas-price', '0']);
    try {
      await waitFor('only this worker online', async () => {
        const online = await onlineWorkers(orch);
        return online.length === 1 && online[0]!.address.toLowerCase() === worker.toLowerCase();
      }, 60_000, 200);
      const stream = (await api(orch, 'POST', '/api/stream', { name: 'crash', profiles: [{ name: 'low', width: 320, height: 180, bitrate: 200_000 }] })).json;
      await push(stream.streamKey, 0, 10);
      await waitFor('a new winning ticket on disk', async () => (await book()).wins.size > wonBefore, 180_000, 200);
      await stopProcess(w, 'SIGKILL');
      const held = (await book()).pending();
      expect(held.length).toBeGreaterThan(0);

      // Restarted, still waiting for gas: nothing redeemed after a few rounds…
      w = startWorker(['--max-gas-price', '0']);
      await new Promise((r) => setTimeout(r, 3000));
      expect((await book()).pending().length).toBeGreaterThanOrEqual(held.length);
      // …until the sender starts to unlock: its money leaves after the unlock period, so the
      // worker redeems now whatever the gas price.
      const wallet = createWalletClient({ chain: { ...foundry, id: deployment.chainId }, account: privateKeyToAccount(SENDER_KEY), transport: http(anvil.rpcUrl) });
      const unlockTx = await wallet.writeContract({ address: deployment.contracts.TicketBroker, abi: ticketBrokerAbi, functionName: 'unlock' });
      await client().waitForTransactionReceipt({ hash: unlockTx });
      const settled = await waitFor('held winners redeemed', async () => {
        const b = await book();
        return held.every((h) => b.fates.get(h.hash)?.fate === 'redeemed') && b;
      }, 60_000, 500);
      const s = await client().readContract({ address: deployment.contracts.TicketBroker, abi: ticketBrokerAbi, functionName: 'getSender', args: [privateKeyToAccount(SENDER_KEY).address] });
      const block = await client().getBlock();
      expect(block.timestamp).toBeLessThan(BigInt(s.withdrawAfter)); // still inside the unlock period
      for (const h of held) {
        const used = await client().readContract({ address: deployment.contracts.TicketBroker, abi: ticketBrokerAbi, functionName: 'usedTickets', args: [h.hash] });
        expect(used).toBe(true);
      }
      // None of the winners held at the crash is still pending (new segments may have brought new ones since).
      expect(settled.pending().filter((t) => held.some((h) => h.hash === t.hash))).toEqual([]);
    } finally {
      await stopProcess(w);
    }
  }, 300_000);
});
