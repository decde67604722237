import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'bullmq';
import { Cluster, type Redis } from 'ioredis';
import { pino } from 'pino';
import { workerQueueName, type SegmentJob, type TranscodeJob } from '@segmint/protocol';
import { freePort, redisAnswers } from '../demo/localRedis.js';
import { Registry } from '../marketplace/registry.js';
import { NoChainStake } from '../marketplace/stake.js';
import { createMetrics } from '../metrics/metrics.js';
import { CreditLedger } from '../payments/creditLedger.js';
import { PendingChecks } from '../verification/pendingChecks.js';
import { MarketDispatcher } from './marketDispatcher.js';

// A real 3-master Redis Cluster started here (redis-server --cluster-enabled ×3 + redis-cli
// --cluster create): every script and MULTI of the market, the payments ledger and the worker
// queues must run on it, which a Cluster allows only when each one's keys share a slot.
const servers: ChildProcess[] = [];
const dir = mkdtempSync(join(tmpdir(), 'segmint-cluster-'));
let cluster: Cluster;

beforeAll(async () => {
  const ports = [await freePort(), await freePort(), await freePort()];
  for (const port of ports) {
    servers.push(spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--dir', dir, '--save', '', '--appendonly', 'no'], { stdio: 'ignore' }));
  }
  for (const port of ports) while (!(await redisAnswers(`redis://127.0.0.1:${port}`))) await new Promise((r) => setTimeout(r, 50));
  const made = spawnSync('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`cluster create failed: ${made.stdout}${made.stderr}`);
  cluster = new Cluster(ports.map((port) => ({ host: '127.0.0.1', port })), { enableAutoPipelining: true });
  for (let i = 0; i < 100 && (await cluster.cluster('INFO')).includes('cluster_state:fail'); i++) await new Promise((r) => setTimeout(r, 100));
}, 30_000);

afterAll(async () => {
  cluster?.disconnect();
  for (const s of servers) s.kill();
  rmSync(dir, { recursive: true, force: true });
});

const worker = (n: number) => `0x${String(n).padStart(40, '0')}`;
const registration = (n: number) => ({
  worker: worker(n), pricePerPixel: String(100 + n), nonce: '1', signature: `0x${'0'.repeat(130)}`,
  capabilities: { encoders: ['libx264'], maxConcurrent: 2, cores: 2, maxHeight: 1080, fingerprint: 'f' },
});

describe('marketplace on a 3-master Redis Cluster', () => {
  it('registers, claims, expires, settles, prunes and pays with every script on one slot', async () => {
    const redis = cluster as unknown as Redis;
    const registry = new Registry(redis, 'ct', new NoChainStake(), 60_000, { expireMs: 1000 });
    expect(await registry.register(registration(1))).toEqual({ redis: null });
    expect(await registry.heartbeat(worker(1))).toBe(true);
    expect(await registry.claim(worker(1), 2, Date.now() - 1, 'job-a')).toBe(true);
    expect(await registry.claim(worker(1), 2, Date.now() + 60_000, 'job-b')).toBe(true);
    expect(await registry.claim(worker(1), 2, Date.now() + 60_000, 'job-c')).toBe(false); // full
    expect(await registry.expired(Date.now(), 10_000)).toEqual([{ jobId: 'job-a', worker: worker(1) }]);
    expect(typeof (await registry.settle('job-b', worker(1), true, 1000, 2000))).toBe('number');
    expect(await registry.settle('job-a', worker(1), true, 1000, 2000)).toBe('late');
    await registry.recordOutcome(worker(1), false, 0.9);
    await registry.exclude(worker(1), 60_000);
    const [c] = await registry.candidates();
    expect(c).toMatchObject({ worker: worker(1), inflight: 0, heartbeatFresh: true, excluded: true });
    expect(c!.perf.successRate).toBeLessThan(1);
    expect(await new PendingChecks(redis, 'ct', 3, 60_000).counts([worker(1)])).toEqual([0]);
    expect(await registry.sweep(Date.now() + 5000)).toEqual([worker(1)]);
    expect(await registry.candidates()).toEqual([]);

    const ledger = new CreditLedger(redis, 'ct');
    const plan = { jobId: 'job-b', worker: worker(1), faceValue: '1000', winProb: '1', recipientRandHash: `0x${'ab'.repeat(32)}` as const, expiry: 2_000_000_000, owed: '2500', pricePerPixel: '1', pixels: '2500' };
    expect((await ledger.book(plan, 1000n, { maxTickets: 10, canPay: true })).count).toBe(2);
    expect(await ledger.clawBack('job-b', worker(1))).toBe(true);
    expect((await ledger.credit(worker(1))).balance).toBe(-2000n);
  });

  it('dispatches segments to workers\' BullMQ queues and settles them', async () => {
    const redis = cluster as unknown as Redis;
    const prefix = 'cd';
    const registry = new Registry(redis, prefix, new NoChainStake(), 60_000);
    for (const n of [1, 2]) await registry.register(registration(n));
    const dispatcher = new MarketDispatcher({
      redis, prefix, registry, rules: { minStake: 0n, maxPricePerPixel: 10n ** 18n }, attempts: 3,
      deadline: { factor: 30, minMs: 1000 }, waitLimitMs: 60_000,
      links: (job, w) => ({ sourceUrl: `http://x/${job.jobId}/${w}`, resultUrl: `http://x/${job.jobId}`, token: 't' }),
      metrics: createMetrics(), logger: pino({ level: 'silent' }),
    });
    const done: string[] = [];
    const connections = [1, 2].map(() => cluster.duplicate());
    const workers = [1, 2].map((n) => new Worker<TranscodeJob>(workerQueueName(worker(n)), async (job) => {
      done.push(`${job.data.seq}@${n}`);
      await dispatcher.settle(job.data, worker(n), { outcome: 'accepted' });
    }, { connection: connections[n - 1]!, prefix, concurrency: 2 }));
    const job = (seq: number): SegmentJob => ({
      jobId: `s.1.${seq}`, streamId: 's', seq, ingestedAt: Date.now(),
      source: { videoCodec: 'h264', width: 1280, height: 720, frames: 60, fps: 30, durationSec: 2, startSec: 0, videoSha256: '0'.repeat(64), videoCodecString: 'avc1.64001f' },
      profiles: [{ name: '360p0', width: 640, height: 360, bitrate: 800_000, fps: 30 }],
    });
    try {
      // 12 segments, 4 slots: most wait for a slot and go as settles free them.
      for (let seq = 0; seq < 12; seq++) await dispatcher.enqueue(job(seq));
      for (let i = 0; i < 200 && done.length < 12; i++) await new Promise((r) => setTimeout(r, 50));
      expect(done.map((d) => Number(d.split('@')[0])).sort((a, b) => a - b)).toEqual([...Array(12).keys()]);
      expect(done.some((d) => d.endsWith('@1'))).toBe(true); // the cheaper worker won at least some
      expect(await dispatcher.assignment('s.1.0', done.find((d) => d.startsWith('0@'))!.endsWith('@1') ? worker(1) : worker(2))).toMatchObject({ fingerprint: 'f' });
    } finally {
      await Promise.all(workers.map((w) => w.close()));
      await dispatcher.close();
      for (const c of connections) c.disconnect();
    }
  });
});
