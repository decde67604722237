import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { RedisOptions } from 'ioredis';
import { pino } from 'pino';
import { Queue } from 'bullmq';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { workerQueueName, type TranscodeJob } from '@segmint/protocol';
import { MarketplaceClient } from '../worker/src/marketplace/client.js';
import { loadOrchestratorConfig } from '../orchestrator/src/config.js';
import type { Database } from '../orchestrator/src/db/database.js';
import { startOrchestrator, type Orchestrator } from '../orchestrator/src/orchestrator.js';
import { deleteWorkerAclUsers, listWorkerAclUsers } from '../orchestrator/src/marketplace/workerAcl.js';
import { createRedis, deleteKeys, scanKeys, type RedisClient } from '../orchestrator/src/redis/redisClient.js';

/**
 * The Redis the e2e suite runs on: REDIS_URL (one server), or the 3-master Redis Cluster the test
 * setup started when SEGMINT_TEST_REDIS_CLUSTER=1 (e2e/globalSetup.ts). Unit tests keep REDIS_URL.
 */
export const REDIS_URL = process.env.SEGMINT_E2E_REDIS_URL || process.env.REDIS_URL || 'redis://127.0.0.1:6379';
export const REDIS_CLUSTER = process.env.SEGMINT_E2E_REDIS_URL ? process.env.SEGMINT_E2E_REDIS_CLUSTER === '1' : process.env.SEGMINT_REDIS_CLUSTER === '1';
/** What an orchestrator process needs in its environment to reach the suite's Redis. */
export const REDIS_ENV = { REDIS_URL, SEGMINT_REDIS_CLUSTER: REDIS_CLUSTER ? '1' : '0' };
/** A client of the suite's Redis (a Cluster client on a cluster). */
export const testRedis = (options: RedisOptions = {}): RedisClient => createRedis({ url: REDIS_URL, cluster: REDIS_CLUSTER }, options);
const ROOT = resolve(import.meta.dirname, '..');

export type TestOrchestrator = Orchestrator & { prefix: string; dataDir: string; apiKey: string; stop(): Promise<void> };

/**
 * An orchestrator on a free port with its own Redis prefix and data dir. Test receivers and file
 * servers are on 127.0.0.1, so private URLs are allowed unless `env` says
 * SEGMINT_ALLOW_PRIVATE_URLS: '0' (the SSRF tests).
 */
export async function startTestOrchestrator(db: Database, env: Record<string, string> = {}): Promise<TestOrchestrator> {
  const prefix = env.SEGMINT_REDIS_PREFIX ?? `segmint-e2e-${randomUUID().slice(0, 8)}`;
  const dataDir = env.DATA_DIR ?? (await mkdtemp(join(tmpdir(), 'segmint-e2e-')));
  const config = loadOrchestratorConfig([], {
    SEGMINT_HTTP_PORT: '0', SEGMINT_RTMP_PORT: '0', ...REDIS_ENV, SEGMINT_REDIS_PREFIX: prefix, DATA_DIR: dataDir, SEGMINT_ALLOW_PRIVATE_URLS: '1', ...env,
  });
  const orch = await startOrchestrator(config, { db, logger: pino({ level: process.env.LOG_LEVEL ?? 'silent' }) });
  const { token } = await orch.apiKeys.create('e2e');
  return {
    ...orch,
    prefix,
    dataDir,
    apiKey: token,
    async stop() {
      await orch.close();
      const redis = createRedis({ url: config.redisUrl, cluster: config.redisCluster });
      await deleteKeys(redis, await scanKeys(redis, `${prefix}:*`));
      await deleteWorkerAclUsers(redis, await listWorkerAclUsers(redis, prefix));
      await redis.quit();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * A worker as its own process, exactly as `segmint worker start` runs it: registers with `orch`
 * under a fresh key (unless `--key` is given) and takes the segments it wins from its queue, as the
 * Redis user its registration created, at the URL the orchestrator gives.
 */
export function spawnWorker(orch: { url: string }, args: string[] = [], env: Record<string, string> = {}, opts: { pinToCpu?: number } = {}): ChildProcess {
  const key = args.includes('--key') ? [] : ['--key', generatePrivateKey()];
  const node = [process.execPath, '--import', 'tsx', join(ROOT, 'worker/src/cli.ts'), 'start', '--orchestrator', orch.url, ...key, ...args];
  // pinToCpu: the worker and its ffmpeg children run on that one core only (taskset).
  const argv = opts.pinToCpu === undefined ? node : ['taskset', '--cpu-list', String(opts.pinToCpu), ...node];
  const child = spawn(
    argv[0]!,
    argv.slice(1),
    {
      cwd: ROOT,
      // No REDIS_URL: the worker reaches Redis where, and as whom, its registration answer says.
      env: { ...process.env, REDIS_URL: '', LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn', ...env },
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  return child;
}

/**
 * A worker played by the test itself: registered (signed, heartbeating) with `orch`; its jobs are
 * read straight from its BullMQ queue, so a test can answer them honestly or cheat.
 */
export async function testWorker(orch: TestOrchestrator, opts: { pricePerPixel?: bigint; maxConcurrent?: number; key?: `0x${string}` } = {}) {
  const account = privateKeyToAccount(opts.key ?? generatePrivateKey());
  const capabilities = { encoders: ['libx264'], maxConcurrent: opts.maxConcurrent ?? 4, cores: 2, maxHeight: 2160, fingerprint: 'test' };
  const client = new MarketplaceClient({ orchestratorUrl: orch.url, account, pricePerPixel: opts.pricePerPixel ?? 100n, capabilities });
  await client.start();
  const connection = testRedis();
  const queue = new Queue<TranscodeJob>(workerQueueName(client.address), { connection, prefix: orch.prefix });
  return {
    address: client.address,
    client,
    /** The job with this id once it is on this worker's queue. */
    job: (jobId: string) => waitFor(`job ${jobId} on ${client.address}`, async () => (await queue.getJob(jobId))?.data, 20_000),
    async hasJob(jobId: string) {
      return (await queue.getJob(jobId)) !== undefined;
    },
    async stop() {
      client.stop();
      await queue.close();
      connection.disconnect();
    },
  };
}

/** Workers registered with `orch` (once each has heartbeated). */
export async function onlineWorkers(orch: TestOrchestrator): Promise<{ address: string; online: boolean; performance: { jobs: number; failures: number; latencyRatio: number; successRate: number } }[]> {
  const res = await fetch(`${orch.url}/marketplace/workers`);
  return ((await res.json()) as { address: string; online: boolean; performance: { jobs: number; failures: number; latencyRatio: number; successRate: number } }[]).filter((w) => w.online);
}

/** `segmint worker …` as a process (e.g. `stake`, `status`, `earnings`); its exit code and output. */
export function workerCli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'worker/src/cli.ts'), ...args], { cwd: ROOT, env: { ...process.env, LOG_LEVEL: 'warn', ...env } });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => done({ code, out }));
  });
}

export async function stopProcess(child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** Polls `fn` until it returns a truthy value or `timeoutMs` passes (then throws with `what`). */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 60_000, intervalMs = 100): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < until) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

export async function api(orch: TestOrchestrator, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${orch.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${orch.apiKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}
