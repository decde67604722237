import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { encodeFunctionResult } from 'viem';
import { stakingManagerAbi, workerQueueName, type SegmentJob, type TranscodeJob } from '@segmint/protocol';
import { freePort } from '../demo/localRedis.js';
import { MarketDispatcher } from '../dispatch/marketDispatcher.js';
import { createMetrics } from '../metrics/metrics.js';
import { deleteKeys, scanKeys } from '../redis/redisClient.js';
import { Registry } from './registry.js';
import { CachedStake, ChainStake } from './stake.js';

const STAKING_MANAGER = '0x00000000000000000000000000000000000000cc';
const BONDED = 5n * 10n ** 18n;

/** A JSON-RPC endpoint answering getStake with BONDED while `up`, HTTP 503 while down (an RPC outage). */
async function rpc(): Promise<{ url: string; server: Server; up: boolean; calls: number }> {
  const state = { url: '', server: undefined as unknown as Server, up: true, calls: 0 };
  const result = encodeFunctionResult({ abi: stakingManagerAbi, functionName: 'getStake', result: { bonded: BONDED, unbonding: 0n, withdrawableAt: 0, jailedUntil: 0 } });
  state.server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      state.calls += 1;
      if (!state.up) return void res.writeHead(503).end('down');
      const { id } = JSON.parse(body) as { id: number };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id, result }));
    });
  });
  const port = await freePort();
  await new Promise<void>((r) => state.server.listen(port, '127.0.0.1', r));
  state.url = `http://127.0.0.1:${port}`;
  return state;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const worker = '0x00000000000000000000000000000000000000a1';

describe('CachedStake: stake reads degrade, never fail', () => {
  let node: Awaited<ReturnType<typeof rpc>>;
  beforeEach(async () => (node = await rpc()));
  afterEach(() => new Promise((r) => node.server.close(r)));

  it('reports a worker unavailable (never throws) when the first read fails, and within waitMs', async () => {
    const dead = new CachedStake(new ChainStake(`http://127.0.0.1:${await freePort()}`, STAKING_MANAGER), { ttlMs: 1000, maxStaleMs: 1000, waitMs: 800 });
    const t = Date.now();
    expect(await dead.read(worker)).toEqual({ stake: 0n, jailed: false, unavailable: true });
    expect(Date.now() - t).toBeLessThan(1500);
    node.up = false;
    const down = new CachedStake(new ChainStake(node.url, STAKING_MANAGER), { ttlMs: 1000, maxStaleMs: 1000, waitMs: 800 });
    expect(await down.read(worker)).toEqual({ stake: 0n, jailed: false, unavailable: true });
  });

  it('bridges an outage with the last known value, then excludes the worker, and takes it back when reads work', async () => {
    const stake = new CachedStake(new ChainStake(node.url, STAKING_MANAGER), { ttlMs: 200, maxStaleMs: 1500, retryMs: 50, waitMs: 500 });
    expect(await stake.read(worker)).toEqual({ stake: BONDED, jailed: false });
    node.up = false;
    await sleep(300);
    const t = Date.now();
    expect(await stake.read(worker)).toEqual({ stake: BONDED, jailed: false }); // stale, still used, at once
    expect(Date.now() - t).toBeLessThan(50);
    await sleep(1600);
    expect(await stake.read(worker)).toMatchObject({ unavailable: true });
    node.up = true;
    await sleep(60);
    expect(await stake.read(worker)).toEqual({ stake: BONDED, jailed: false });
  });

  it('an auction during an RPC outage does not fail: the segment waits, and goes out once stake reads work', async () => {
    const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
    const prefix = `segmint-test-stake-${randomUUID().slice(0, 8)}`;
    node.up = false;
    const registry = new Registry(redis, prefix, new CachedStake(new ChainStake(node.url, STAKING_MANAGER), { ttlMs: 100, maxStaleMs: 100, retryMs: 50, waitMs: 300 }), 60_000);
    const metrics = createMetrics();
    const dispatcher = new MarketDispatcher({
      redis, prefix, registry, rules: { minStake: 1n, maxPricePerPixel: 10n ** 18n }, attempts: 3, deadline: { factor: 30, minMs: 1000 },
      waitLimitMs: 60_000, metrics, logger: pino({ level: 'silent' }),
      links: (j, w) => ({ sourceUrl: `http://x/${j.jobId}/${w}`, resultUrl: `http://x/${j.jobId}/${w}`, token: 't' }),
    });
    const got: string[] = [];
    const consumer = new Worker<TranscodeJob>(workerQueueName(worker), async (j) => void got.push(j.data.jobId), { connection: { url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' }, prefix });
    try {
      await registry.register({ worker, pricePerPixel: '100', nonce: '1', signature: `0x${'0'.repeat(130)}`, capabilities: { encoders: ['libx264'], maxConcurrent: 2, cores: 4, maxHeight: 1080, fingerprint: 't' } });
      const job: SegmentJob = {
        jobId: `${randomUUID()}.1.0`, streamId: 's', seq: 0, ingestedAt: Date.now(),
        source: { videoCodec: 'h264', width: 1280, height: 720, frames: 30, fps: 30, durationSec: 1, startSec: 0, videoSha256: '0'.repeat(64), videoCodecString: 'avc1.64001f' },
        profiles: [{ name: '360p0', width: 640, height: 360, bitrate: 800_000, fps: 30 }],
      };
      await dispatcher.enqueue(job); // resolves: the worker is excluded (stake unavailable), the segment waits
      expect((await registry.candidates())[0]).toMatchObject({ worker, stakeUnavailable: true });
      expect((await metrics.auctions.get()).values.find((v) => v.labels.outcome === 'waiting')?.value).toBe(1);
      expect(got).toEqual([]);
      node.up = true;
      for (let i = 0; i < 100 && got.length === 0; i++) await sleep(50);
      expect(got).toEqual([job.jobId]);
    } finally {
      await consumer.close();
      await dispatcher.close();
      await deleteKeys(redis, await scanKeys(redis, `${prefix}:*`));
      redis.disconnect();
    }
  });
});
