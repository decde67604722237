import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { loadOrchestratorConfig } from '../orchestrator/src/config.js';
import type { Database } from '../orchestrator/src/db/database.js';
import { startOrchestrator, type Orchestrator } from '../orchestrator/src/orchestrator.js';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const ROOT = resolve(import.meta.dirname, '..');

export type TestOrchestrator = Orchestrator & { prefix: string; dataDir: string; apiKey: string; stop(): Promise<void> };

/** An orchestrator on a free port with its own Redis prefix and data dir. */
export async function startTestOrchestrator(db: Database, env: Record<string, string> = {}): Promise<TestOrchestrator> {
  const prefix = `segmint-e2e-${randomUUID().slice(0, 8)}`;
  const dataDir = await mkdtemp(join(tmpdir(), 'segmint-e2e-'));
  const config = loadOrchestratorConfig([], {
    SEGMINT_HTTP_PORT: '0', REDIS_URL, SEGMINT_REDIS_PREFIX: prefix, DATA_DIR: dataDir, ...env,
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
      const redis = new Redis(REDIS_URL);
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length) await redis.del(...keys);
      await redis.quit();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** A worker as its own process, exactly as `segmint worker start` runs it. */
export function spawnWorker(prefix: string, args: string[] = [], env: Record<string, string> = {}): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'worker/src/cli.ts'), 'start', '--redis-prefix', prefix, ...args], {
    cwd: ROOT,
    env: { ...process.env, REDIS_URL, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn', ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  return child;
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
