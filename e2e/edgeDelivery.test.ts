import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { generateSegments } from '@segmint/media';
import { ticketEV } from '@segmint/protocol';
import { ANVIL_KEYS, deploySegmint, startAnvil, type Anvil, type Deployment } from '@segmint/contracts';
import { openDatabase, type Database } from '../orchestrator/src/db/database.js';
import { startOrchestrator, type Orchestrator } from '../orchestrator/src/orchestrator.js';
import { loadOrchestratorConfig } from '../orchestrator/src/config.js';
import { TicketStore } from '../worker/src/payments/ticketStore.js';
import { parseWinProb, ticketBookPath } from '../worker/src/payments/workerPayments.js';
import { startEdge, type EdgeNode } from '../edge/src/edgeNode.js';
import { spawnWorker, startTestOrchestrator, stopProcess, waitFor, REDIS_ENV, type TestOrchestrator } from './helpers.js';
import { EdgeViewer, liveStream, play, spawnEdge, type EdgeProcess, type LiveStream } from './edgeFixtures.js';
import { pino } from 'pino';

// Edge delivery with real processes: an orchestrator with payments on anvil, a real worker
// transcoding a live HTTP-push stream, `segmint edge start` processes, Node viewers that verify
// every segment against the signed sidecar and sign receipts.
const PRICE = 10_000_000_000n; // wei per verified byte: a few tickets for ~15 s of three viewers
const FACE = 10n ** 15n;
const WIN = '1/2';
const SECRET = 'edge-e2e-secret';

let anvil: Anvil;
let deployment: Deployment;
let db: Database;
let orch: TestOrchestrator;
let worker: ChildProcess;
let stream: LiveStream;
let dir: string;
const edges: EdgeProcess[] = [];
const inProcess: EdgeNode[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'segmint-edge-'));
  anvil = await startAnvil();
  deployment = await deploySegmint({ rpcUrl: anvil.rpcUrl, deployerKey: ANVIL_KEYS[0], fund: [] });
  const [database, files] = await Promise.all([openDatabase(), generateSegments({ dir, count: 6, width: 320, height: 180, fps: 15 })]);
  db = database;
  orch = await startTestOrchestrator(db, {
    SEGMINT_SECRET: SECRET,
    SEGMINT_IDLE_TIMEOUT: '600',
    CHAIN_RPC_URL: anvil.rpcUrl,
    SEGMINT_CHAIN_ID: String(deployment.chainId),
    SEGMINT_TICKET_BROKER: deployment.contracts.TicketBroker,
    SENDER_PRIVATE_KEY: ANVIL_KEYS[1]!,
    SEGMINT_EDGE_PRICE_PER_BYTE: PRICE.toString(),
    SEGMINT_EDGE_MYSTERY_INTERVAL_MS: '0', // this orchestrator runs no mystery viewer: the viewers' own catch is tested alone
  });
  worker = spawnWorker(orch, ['--concurrency', '2']);
  stream = await liveStream(orch, await Promise.all(files.map((f) => readFile(f))), { name: 'edge', ready: 3 });
}, 240_000);

afterAll(async () => {
  stream?.stop();
  for (const e of inProcess) await e.close().catch(() => {});
  for (const e of edges) await stopProcess(e.child);
  await stopProcess(worker);
  await orch?.stop();
  await db?.close();
  await anvil?.stop();
  await rm(dir, { recursive: true, force: true });
});

const edgeView = async (address: string) => (await (await fetch(`${orch.url}/edges/${address}`)).json()) as { online: boolean; excluded: boolean; load: number; stats: Record<string, string>; faults: { reporter: string }[] };

function paidEdge(): Promise<EdgeProcess> {
  return spawnEdge(orch, ['--chain-rpc-url', anvil.rpcUrl, '--ticket-broker', deployment.contracts.TicketBroker, '--face-value', FACE.toString(), '--win-prob', WIN, '--payments-dir', join(dir, 'book'), '--redeem-interval-ms', '3600000']);
}

/** A dishonest edge in this process: registered like any other, it serves every segment with its bytes flipped. */
async function garbageEdge(): Promise<EdgeNode> {
  const e = await startEdge({
    orchestratorUrl: orch.url, account: privateKeyToAccount(generatePrivateKey()), port: 0, cacheBytes: 64 << 20, maxViewers: 100, receiptIntervalMs: 300, receiptsDir: join(dir, 'receipts'),
    logger: pino({ level: 'silent' }), tamper: (b) => Buffer.from(b.map((x, i) => (i % 188 === 100 ? x ^ 0xff : x))),
  });
  inProcess.push(e);
  return e;
}

describe('edge delivery', () => {
  it('an edge serves Node viewers and is paid ≈ verified bytes × price, within one ticket', async () => {
    const edge = await paidEdge();
    edges.push(edge);
    const viewers = await Promise.all([0, 1, 2].map(() => EdgeViewer.start({ orchestratorUrl: orch.url, playbackId: stream.playbackId })));
    for (const v of viewers) expect(v.edge?.address).toBe(edge.address);
    await Promise.all(viewers.map((v) => play(v, 'low', 14_000)));
    // every receipt handed to the edge and acknowledged (journaled there)
    for (const v of viewers) expect(await v.flushReceipts(30_000)).toBe(0);
    const edgeBytes = viewers.reduce((n, v) => n + v.stats.edgeBytes, 0);
    expect(viewers.reduce((n, v) => n + v.stats.receiptedBytes, 0)).toBe(edgeBytes);
    expect(edgeBytes).toBeGreaterThan(0);
    for (const v of viewers) {
      expect(v.stats.rejectedSegments).toBe(0);
      expect(v.stats.originBytes).toBe(0); // every segment came from the edge, verified
    }
    // every verified byte is paid: receipts reach the orchestrator through the edge
    const view = await waitFor('receipts paid', async () => {
      const e = await edgeView(edge.address);
      return Number(e.stats.paidBytes ?? 0) >= edgeBytes ? e : null;
    }, 60_000, 200);
    expect(Number(view.stats.paidBytes)).toBe(edgeBytes); // not one verified byte unpaid, none paid twice
    expect(view.load).toBe(3);
    // and the edge holds tickets worth bytes × price, to within one ticket's expected value
    const ev = ticketEV(FACE, parseWinProb(WIN));
    const owed = BigInt(edgeBytes) * PRICE;
    const book = await waitFor('tickets in the edge book', async () => {
      const s = await TicketStore.open(ticketBookPath(join(dir, 'book'), privateKeyToAccount(edge.key).address));
      await s.close();
      const sum = s.summary();
      return owed - sum.ev < ev ? sum : null;
    }, 60_000, 250);
    expect(book.ev).toBeLessThanOrEqual(owed);
    expect(owed - book.ev).toBeLessThan(ev);
    expect(book.received).toBeGreaterThan(0);
    for (const v of viewers) v.close();
  }, 120_000);

  it('an edge serving garbage is caught by its viewer, reported with its signature, excluded and unpaid; the viewer plays on from the origin', async () => {
    const honest = edges[0]!;
    const bad = await garbageEdge();
    const v = await EdgeViewer.start({ orchestratorUrl: orch.url, playbackId: stream.playbackId, avoid: [honest.address] });
    expect(v.edge?.address).toBe(bad.address);
    const got = await play(v, 'low', 6000);
    expect(got.length).toBeGreaterThan(0);
    expect(v.stats.rejectedSegments).toBe(1); // the first wrong segment: then this viewer leaves the edge
    expect(v.stats.faultsReported).toBe(1);
    expect(v.stats.verified).toBe(got.length); // everything it kept was the signed bytes
    const view = await edgeView(bad.address);
    expect(view.excluded).toBe(true);
    expect(view.faults[0]!.reporter).toMatch(/^viewer session/);
    await bad.receipts.flush();
    expect(Number(view.stats.paidBytes ?? 0)).toBe(0);
    // excluded: no viewer is steered to it again
    const next = await EdgeViewer.start({ orchestratorUrl: orch.url, playbackId: stream.playbackId, avoid: [honest.address] });
    expect(next.edge).toBeNull();
  }, 60_000);

  it('the mystery viewer (on a second orchestrator of the deployment) catches an edge serving garbage that no viewer reported', async () => {
    const bad = await garbageEdge();
    const second: Orchestrator = await startOrchestrator(loadOrchestratorConfig([], {
      SEGMINT_HTTP_PORT: '0', SEGMINT_RTMP_PORT: '-1', ...REDIS_ENV, SEGMINT_REDIS_PREFIX: orch.prefix, DATA_DIR: join(dir, 'second'), SEGMINT_SECRET: SECRET,
      SEGMINT_ALLOW_PRIVATE_URLS: '1', SEGMINT_EDGE_MYSTERY_INTERVAL_MS: '500', SEGMINT_CHECK_CONCURRENCY: '0',
    }), { db, logger: pino({ level: 'silent' }) });
    try {
      const view = await waitFor('mystery viewer excludes the edge', async () => {
        const e = await edgeView(bad.address);
        return e.excluded ? e : null;
      }, 20_000, 200);
      expect(view.faults[0]!.reporter).toBe('mystery-viewer');
      expect(Number(view.stats.mysteryFailed)).toBeGreaterThan(0);
      // the honest edge passes the same checks
      const honest = await edgeView(edges[0]!.address);
      expect(honest.excluded).toBe(false);
      expect(Number(honest.stats.mysteryOk ?? 0)).toBeGreaterThan(0);
    } finally {
      await second.close();
    }
  }, 60_000);

  it('an edge killed mid-stream: its viewers continue from another edge or the origin, every segment verified', async () => {
    const doomed = await spawnEdge(orch);
    edges.push(doomed);
    const v = await EdgeViewer.start({ orchestratorUrl: orch.url, playbackId: stream.playbackId, avoid: [edges[0]!.address] });
    expect(v.edge?.address).toBe(doomed.address);
    const before = await play(v, 'low', 5000);
    expect(v.stats.edgeBytes).toBeGreaterThan(0);
    await stopProcess(doomed.child, 'SIGKILL');
    const after = await play(v, 'low', 7000);
    expect(after.length).toBeGreaterThanOrEqual(2); // kept playing new segments
    expect(v.stats.failovers).toBeGreaterThanOrEqual(1);
    expect(v.stats.verified).toBe(before.length + after.length);
    expect(v.edge?.address ?? null).not.toBe(doomed.address);
    v.close();
  }, 60_000);

  it('receipts an edge acknowledged survive it being killed before it submits them: restarted on its journal, it is paid for every one', async () => {
    const key = generatePrivateKey();
    const journal = join(dir, 'journal');
    const slow = await spawnEdge(orch, ['--receipt-interval-ms', '3600000', '--receipts-dir', journal], {}, key); // never submits on its own
    edges.push(slow);
    const others = edges.filter((e) => e !== slow).map((e) => e.address);
    const v = await EdgeViewer.start({ orchestratorUrl: orch.url, playbackId: stream.playbackId, avoid: [...others, ...inProcess.map((e) => e.address)] });
    expect(v.edge?.address).toBe(slow.address);
    await play(v, 'low', 6000);
    expect(await v.flushReceipts(30_000)).toBe(0);
    expect(v.stats.receipts).toBeGreaterThan(0);
    expect(Number((await edgeView(slow.address)).stats.paidBytes ?? 0)).toBe(0); // nothing submitted yet
    await stopProcess(slow.child, 'SIGKILL');
    const again = await spawnEdge(orch, ['--receipt-interval-ms', '300', '--receipts-dir', journal], {}, key);
    edges.push(again);
    const view = await waitFor('the journaled receipts paid', async () => {
      const e = await edgeView(again.address);
      return Number(e.stats.paidBytes ?? 0) >= v.stats.edgeBytes ? e : null;
    }, 60_000, 250);
    expect(Number(view.stats.paidBytes)).toBe(v.stats.edgeBytes);
    expect(Number(view.stats.receipts)).toBe(v.stats.receipts);
    v.close();
  }, 120_000);

  it('a batch the orchestrator refuses whole (one malformed receipt in it) is split: every good receipt is still paid, only the bad one dropped', async () => {
    const e = await startEdge({
      orchestratorUrl: orch.url, account: privateKeyToAccount(generatePrivateKey()), port: 0, cacheBytes: 64 << 20, maxViewers: 100, receiptIntervalMs: 3_600_000,
      receiptsDir: join(dir, 'split'), logger: pino({ level: 'silent' }),
    });
    inProcess.push(e);
    const v = await EdgeViewer.start({ orchestratorUrl: orch.url, playbackId: stream.playbackId, avoid: [...edges.map((x) => x.address), ...inProcess.filter((x) => x !== e).map((x) => x.address)] });
    expect(v.edge?.address).toBe(e.address);
    await play(v, 'low', 6000);
    expect(await v.flushReceipts(30_000)).toBe(0);
    expect(v.stats.receipts).toBeGreaterThanOrEqual(2);
    // the edge's own intake checks receipts; this one stands for what a newer or older orchestrator refuses
    const [good] = (e.receipts as unknown as { pending: Parameters<EdgeNode['receipts']['add']>[0] }).pending;
    e.receipts.add([{ ...good!, session: 'not a session id!', signature: `0x${'ab'.repeat(65)}` }]);
    await e.receipts.flush();
    const view = await edgeView(e.address);
    expect(Number(view.stats.paidBytes)).toBe(v.stats.edgeBytes);
    expect(e.receipts.totals.dropped).toBe(1);
    expect(e.receipts.backlog).toBe(0);
    v.close();
  }, 120_000);

  it('an edge answers bad receipts input with a stable code and a 4xx, never a 5xx (JSON or text/plain)', async () => {
    const e = inProcess[inProcess.length - 1]!;
    const post = async (body: string, type: string) => {
      const res = await fetch(`${e.url}/receipts`, { method: 'POST', headers: { 'content-type': type }, body });
      return { status: res.status, code: ((await res.json()) as { error: { code: string } }).error.code };
    };
    expect(await post('not json', 'text/plain')).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
    expect(await post('{"receipts":[]}', 'text/plain')).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
    expect(await post('{"receipts":[{"session":"x"}]}', 'application/json')).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
    expect(await post('{', 'application/json')).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
    expect(await post(JSON.stringify({ receipts: [] , pad: 'x'.repeat(600 * 1024) }), 'text/plain')).toEqual({ status: 413, code: 'PAYLOAD_TOO_LARGE' });
  }, 30_000);
});

