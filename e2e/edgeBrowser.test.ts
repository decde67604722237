import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { Browser, Page } from 'playwright-core';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { pino } from 'pino';
import { ticketEV } from '@segmint/protocol';
import { ANVIL_KEYS, deploySegmint, startAnvil, type Anvil, type Deployment } from '@segmint/contracts';
import { openDatabase, type Database } from '../orchestrator/src/db/database.js';
import { TicketStore } from '../worker/src/payments/ticketStore.js';
import { parseWinProb, ticketBookPath } from '../worker/src/payments/workerPayments.js';
import { startEdge, type EdgeNode } from '../edge/src/edgeNode.js';
import type { EdgeDelivery } from '../orchestrator/src/player/edgePlayer.js';
import { api, spawnWorker, startTestOrchestrator, stopProcess, waitFor, type TestOrchestrator } from './helpers.js';
import { EdgeViewer, play, spawnEdge, type EdgeProcess } from './edgeFixtures.js';
import { ffmpegPublish } from './rtmpPublish.js';
import { CHROMIUM, launchViewerBrowser } from './p2pViewers.js';

// The watch page in headless Chromium playing through an edge: hls.js gets every segment from
// the edge it was steered to, checked against the origin's signed sidecar before the decoder;
// receipts signed in the page pay the edge, with Node viewers alongside.
const PRICE = 10_000_000_000n; // wei per verified byte
const FACE = 10n ** 15n;
const WIN = '1/2';

let anvil: Anvil;
let deployment: Deployment;
let db: Database;
let orch: TestOrchestrator;
let worker: ChildProcess;
let browser: Browser;
let stream: { playbackId: string; streamKey: string };
let publisher: ChildProcess;
let dir: string;
const edges: EdgeProcess[] = [];
const inProcess: EdgeNode[] = [];
const pages: Page[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`no chromium at ${CHROMIUM}: run make install (Debian's chromium) or set CHROMIUM_PATH`);
  dir = await mkdtemp(join(tmpdir(), 'segmint-edge-browser-'));
  anvil = await startAnvil();
  deployment = await deploySegmint({ rpcUrl: anvil.rpcUrl, deployerKey: ANVIL_KEYS[0], fund: [] });
  db = await openDatabase();
  orch = await startTestOrchestrator(db, {
    SEGMINT_IDLE_TIMEOUT: '600',
    CHAIN_RPC_URL: anvil.rpcUrl,
    SEGMINT_CHAIN_ID: String(deployment.chainId),
    SEGMINT_TICKET_BROKER: deployment.contracts.TicketBroker,
    SENDER_PRIVATE_KEY: ANVIL_KEYS[1]!,
    SEGMINT_EDGE_PRICE_PER_BYTE: PRICE.toString(),
    SEGMINT_EDGE_MYSTERY_INTERVAL_MS: '0', // the page's own catch is what is tested
  });
  worker = spawnWorker(orch, ['--concurrency', '2']);
  // a real live source (continuous timestamps, as a player needs): ffmpeg over RTMP, 320x180 at 15 fps (CPU is scarce)
  stream = (await api(orch, 'POST', '/api/stream', { name: 'edge-browser', profiles: [{ name: 'low', width: 256, height: 144, bitrate: 150_000 }] })).json as { playbackId: string; streamKey: string };
  publisher = ffmpegPublish({ port: orch.rtmp!.port, key: stream.streamKey, seconds: 300, width: 320, height: 180, fps: 15 });
  browser = await launchViewerBrowser();
  await waitFor('3 signed segments of low', async () => {
    const res = await fetch(`${orch.url}/hls/${stream.playbackId}/low/hashes.json`);
    return res.ok && ((await res.json()) as { segments: unknown[] }).segments.length >= 3;
  }, 120_000, 250);
}, 240_000);

afterAll(async () => {
  for (const p of pages) await p.context().close().catch(() => {});
  await browser?.close();
  await stopProcess(publisher);
  for (const e of inProcess) await e.close().catch(() => {});
  for (const e of edges) await stopProcess(e.child);
  await stopProcess(worker);
  await orch?.stop();
  await db?.close();
  await anvil?.stop();
  await rm(dir, { recursive: true, force: true });
});

type PageState = { state: string; currentTime: number; playedVerified: number; playedMismatch: number; originBytes: number; edge: EdgeDelivery | null; errors: string[] };

function pageState(page: Page): Promise<PageState> {
  return page.evaluate(() => {
    const w = (window as unknown as { segmintWatch: { state: string; errors: string[]; delivery: { playedVerified: number; playedMismatch: number; originBytes: number; edge: unknown } | null } }).segmintWatch;
    const d = w.delivery;
    return {
      state: w.state, currentTime: document.querySelector('video')!.currentTime, errors: [...w.errors],
      playedVerified: d?.playedVerified ?? 0, playedMismatch: d?.playedMismatch ?? 0, originBytes: d?.originBytes ?? 0,
      edge: d?.edge ? { ...(d.edge as EdgeDelivery) } : null,
    };
  });
}

async function watch(): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  pages.push(page);
  const logged: string[] = [];
  page.on('pageerror', (err) => logged.push(`pageerror: ${err.stack?.slice(0, 1500)}`));
  page.on('console', (m) => m.type() === 'error' && logged.push(`console: ${m.text()}`));
  await page.goto(`${orch.url}/watch/${stream.playbackId}`);
  await page.waitForFunction(() => (window as any).segmintWatch.state === 'playing', undefined, { timeout: 60_000 }).catch(async (err: Error) => {
    throw new Error(`${err.message}\n${JSON.stringify(await pageState(page).catch(() => null))}\n${logged.slice(0, 10).join('\n')}`);
  });
  return page;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const edgeView = async (address: string) => (await (await fetch(`${orch.url}/edges/${address}`)).json()) as { excluded: boolean; stats: Record<string, string>; faults: { reporter: string }[] };

describe('edge delivery in the browser', () => {
  it('a page steered to an edge serving garbage never plays a corrupted segment: it reports the edge (excluded, unpaid) and plays on from the origin', async () => {
    const bad = await startEdge({
      orchestratorUrl: orch.url, account: privateKeyToAccount(generatePrivateKey()), port: 0, cacheBytes: 64 << 20, maxViewers: 100, receiptIntervalMs: 300, receiptsDir: join(dir, 'receipts'),
      logger: pino({ level: 'silent' }), tamper: (b) => Buffer.from(b.map((x, i) => (i % 188 === 100 ? x ^ 0xff : x))),
    });
    inProcess.push(bad);
    const page = await watch();
    const t0 = await pageState(page);
    // kept playing (the machine may be slower than real time: up to 30 s for 4 s of video)
    const t1 = await waitFor('the page plays on', async () => {
      const s = await pageState(page);
      return s.currentTime - t0.currentTime > 4 && s.edge!.failovers > 0 ? s : null;
    }, 30_000, 500).catch(async (err) => {
      throw new Error(`${(err as Error).message}: ${JSON.stringify(await pageState(page))}`);
    });
    expect(t1.playedMismatch).toBe(0); // no altered byte reached hls.js
    expect(t1.playedVerified).toBeGreaterThan(0);
    expect(t1.edge!.rejectedSegments).toBe(1); // the first wrong segment, then the page left that edge
    expect(t1.edge!.faultsReported).toBe(1);
    expect(t1.edge!.failovers).toBeGreaterThanOrEqual(1);
    expect(t1.edge!.address).toBeNull(); // no other edge: the origin
    expect(t1.edge!.bytes).toBe(0);
    expect(t1.originBytes).toBeGreaterThan(0);
    const view = await edgeView(bad.address);
    expect(view.excluded).toBe(true);
    expect(view.faults[0]!.reporter).toMatch(/^viewer session/);
    await bad.receipts.flush();
    expect(Number((await edgeView(bad.address)).stats.paidBytes ?? 0)).toBe(0);
    await page.context().close();
  }, 120_000);

  it('a page and Node viewers play through an honest edge, and it is paid ≈ their verified bytes × price, within one ticket', async () => {
    const edge = await spawnEdge(orch, ['--chain-rpc-url', anvil.rpcUrl, '--ticket-broker', deployment.contracts.TicketBroker, '--face-value', FACE.toString(), '--win-prob', WIN, '--payments-dir', join(dir, 'book'), '--redeem-interval-ms', '3600000']);
    edges.push(edge);
    const page = await watch();
    const viewers = await Promise.all([0, 1].map(() => EdgeViewer.start({ orchestratorUrl: orch.url, playbackId: stream.playbackId })));
    for (const v of viewers) expect(v.edge?.address).toBe(edge.address);
    const t0 = await pageState(page);
    await Promise.all(viewers.map((v) => play(v, 'low', 12_000)));
    const t1 = await pageState(page);
    expect(t1.currentTime - t0.currentTime).toBeGreaterThan(4); // 12 s of wall time, on a busy machine
    expect(t1.edge!.address).toBe(edge.address);
    expect(t1.edge!.bytes).toBeGreaterThan(0);
    expect(t1.edge!.rejectedSegments).toBe(0);
    expect(t1.edge!.failovers).toBe(0);
    expect(t1.originBytes).toBe(0); // every segment the page played came from the edge
    expect(t1.playedMismatch).toBe(0);
    expect(t1.playedVerified).toBeGreaterThan(0);
    // stop the page loading; wait until its last loads have settled and every receipt it signed is acknowledged by the edge
    await page.evaluate(() => (window as any).segmintHls.stopLoad());
    let prev = -1;
    const last = await waitFor('the page\'s receipts all handed to the edge', async () => {
      const t = (await page.evaluate(() => (window as any).segmintWatch.flushReceipts(10_000))) as { edgeBytes: number; receiptedBytes: number; receipts: number; unsentReceipts: number };
      const settled = t.unsentReceipts === 0 && t.edgeBytes === prev;
      prev = t.edgeBytes;
      return settled ? t : null;
    }, 60_000, 1000);
    await page.context().close();
    expect(last.receipts).toBeGreaterThan(0);
    expect(last.receiptedBytes).toBe(last.edgeBytes);
    for (const v of viewers) expect(await v.flushReceipts(30_000)).toBe(0);

    const edgeBytes = last.edgeBytes + viewers.reduce((n, v) => n + v.stats.edgeBytes, 0);
    const view = await waitFor('receipts paid', async () => {
      const e = await edgeView(edge.address);
      return Number(e.stats.paidBytes ?? 0) >= edgeBytes ? e : null;
    }, 60_000, 200);
    expect(Number(view.stats.paidBytes)).toBe(edgeBytes);
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
    for (const v of viewers) v.close();
  }, 240_000);

  it('an edge killed mid-stream: the page plays on from the origin, every segment it plays verified', async () => {
    // the honest edge leaves (SIGTERM: it submits what it holds) and goes stale: the origin is the only fallback
    for (const e of edges.splice(0)) {
      await stopProcess(e.child);
      await waitFor('the stopped edge goes stale', async () => !(await edgeView(e.address) as unknown as { online: boolean }).online || null, 60_000, 500);
    }
    const doomed = await spawnEdge(orch);
    edges.push(doomed);
    const page = await watch();
    const t0 = await pageState(page);
    expect(t0.edge!.address).toBe(doomed.address);
    await waitFor('the page plays from the edge', async () => {
      const s = await pageState(page);
      return s.edge!.bytes > 0 && s.currentTime - t0.currentTime > 2 ? s : null;
    }, 60_000, 500);
    await stopProcess(doomed.child, 'SIGKILL');
    const killed = await pageState(page);
    const after = await waitFor('the page plays on from the origin', async () => {
      const s = await pageState(page);
      return s.currentTime - killed.currentTime > 6 && s.originBytes > 0 ? s : null;
    }, 90_000, 500).catch(async (err) => {
      throw new Error(`${(err as Error).message}: ${JSON.stringify(await pageState(page))}`);
    });
    expect(after.edge!.failovers).toBeGreaterThanOrEqual(1);
    expect(after.edge!.address).toBeNull(); // no edge left: the origin
    expect(after.playedMismatch).toBe(0);
    expect(after.playedVerified).toBeGreaterThan(killed.playedVerified);
    await page.context().close();
  }, 240_000);
});
