import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { createTestClient, http, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { ffmpegPath } from '@segmint/media';
import { ANVIL_KEYS, deploySegmint, startAnvil, type Anvil, type Deployment } from '@segmint/contracts';
import { freePort, startRedisServer } from '../orchestrator/src/demo/localRedis.js';
import { createTestDatabase, dropTestDatabase } from '../e2e/postgres.js';
import { Balancer } from './balancer.js';

const ROOT = resolve(import.meta.dirname, '..');
const PREFIX = 'segmint-chaos';
/** Tickets: face value and win probability the workers ask for; price per pixel they bid. */
export const PAY = { face: 10n ** 15n, winProb: '1/2', price: 300_000_000n };
const SENDER_KEY = ANVIL_KEYS[1] as Hex;

type Proc = { child: ChildProcess | null; restarts: number };
export type OrchestratorProc = Proc & { index: number; httpPort: number; rtmpPort: number };
export type WorkerProc = Proc & { index: number; key: Hex; book: string };

/**
 * Everything the chaos run kills and restarts, as separate processes: a Redis (password, AOF), a
 * PostgreSQL database, anvil with the contracts, two orchestrators behind one entry point (HTTP
 * and RTMP), three workers paid in tickets, and a publisher that reconnects like OBS does.
 */
export class Cluster {
  redis!: { url: string; child: ChildProcess; dir: string; password: string; port: number };
  admin!: Redis;
  anvil!: Anvil;
  deployment!: Deployment;
  databaseUrl!: string;
  http!: Balancer;
  rtmp!: Balancer;
  readonly orchestrators: OrchestratorProc[] = [];
  readonly workers: WorkerProc[] = [];
  readonly prefix = PREFIX;
  private readonly secret = 'chaos-'.padEnd(40, '0');

  constructor(readonly dir: string, private readonly log: (line: string) => void) {
    mkdirSync(join(dir, 'logs'), { recursive: true });
  }

  get url(): string {
    return `http://127.0.0.1:${this.http.port}`;
  }

  async start(workers: number, workerKeys: Hex[]): Promise<void> {
    const port = await freePort();
    const [redis, anvil] = await Promise.all([startRedisServer({ dir: join(this.dir, 'redis'), port }), startAnvil()]);
    this.redis = { ...redis, port };
    this.admin = new Redis(redis.url, { maxRetriesPerRequest: null, lazyConnect: false });
    this.admin.on('error', () => {});
    this.anvil = anvil;
    this.deployment = await deploySegmint({ rpcUrl: anvil.rpcUrl, deployerKey: ANVIL_KEYS[0] });
    this.databaseUrl = await createTestDatabase('chaos');
    this.log(`redis :${port} (AOF), anvil ${anvil.rpcUrl}, postgres ${this.databaseUrl.replace(/^.*\//, '')}`);
    for (let i = 0; i < 2; i++) this.orchestrators.push({ index: i, httpPort: await freePort(), rtmpPort: await freePort(), child: null, restarts: 0 });
    this.http = await Balancer.start(() => this.orchestrators.map((o) => o.httpPort));
    this.rtmp = await Balancer.start(() => this.orchestrators.map((o) => o.rtmpPort));
    // one after the other: the first applies the database migrations
    for (const o of this.orchestrators) await this.startOrchestrator(o);
    // gas for the workers' redemptions
    const chain = createTestClient({ mode: 'anvil', transport: http(anvil.rpcUrl) });
    for (const key of workerKeys) await chain.setBalance({ address: privateKeyToAccount(key).address, value: 10n ** 20n });
    for (let i = 0; i < workers; i++) this.workers.push({ index: i, key: workerKeys[i]!, book: join(this.dir, 'payments'), child: null, restarts: 0 });
    await Promise.all(this.workers.map((w) => this.startWorker(w)));
  }

  private logFile(name: string) {
    // a log that cannot be written (the run is being torn down) is not worth a crash
    return createWriteStream(join(this.dir, 'logs', `${name}.log`), { flags: 'a' }).on('error', () => {});
  }

  private spawnLogged(name: string, argv: string[], env: Record<string, string>): ChildProcess {
    const child = spawn(process.execPath, ['--import', 'tsx', ...argv], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = this.logFile(name);
    child.stdout!.pipe(out, { end: false });
    child.stderr!.pipe(out, { end: false });
    return child;
  }

  /** Starts an orchestrator and waits for it; as a supervisor would, tries again while it exits (Redis down). */
  async startOrchestrator(o: OrchestratorProc): Promise<void> {
    const until = Date.now() + 90_000;
    for (;;) {
      const child = this.spawnOrchestrator(o);
      const exited = new Promise<false>((r) => child.once('exit', () => r(false)));
      // polled only while this process lives: a dead one's poll must not outlast it
      const alive = () => child.exitCode === null && child.signalCode === null;
      const healthy = waitUntil(`orchestrator ${o.index} healthy`, async () => (await fetch(`http://127.0.0.1:${o.httpPort}/healthz`)).ok, 90_000, alive).then(() => true, () => false);
      if (await Promise.race([healthy, exited])) return;
      if (Date.now() > until) throw new Error(`orchestrator ${o.index} keeps exiting: see its log`);
      await sleep(1000);
    }
  }

  private spawnOrchestrator(o: OrchestratorProc): ChildProcess {
    return (o.child = this.spawnLogged(`orchestrator-${o.index}`, [join(ROOT, 'orchestrator/src/cli.ts'), 'start'], {
      SEGMINT_HTTP_PORT: String(o.httpPort), SEGMINT_RTMP_PORT: String(o.rtmpPort), SEGMINT_PUBLIC_URL: this.url,
      REDIS_URL: this.redis.url, SEGMINT_REDIS_PREFIX: PREFIX, DATABASE_URL: this.databaseUrl,
      // one data dir for both: the same disk stands in for shared storage
      DATA_DIR: join(this.dir, 'data'), SEGMINT_SECRET: this.secret, SEGMINT_ALLOW_PRIVATE_URLS: '1',
      CHAIN_RPC_URL: this.anvil.rpcUrl, SEGMINT_CHAIN_ID: String(this.deployment.chainId),
      SEGMINT_TICKET_BROKER: this.deployment.contracts.TicketBroker, SENDER_PRIVATE_KEY: SENDER_KEY,
      SEGMINT_IDLE_TIMEOUT: '30', SEGMINT_HLS_WINDOW: '6', LOG_LEVEL: 'info',
    }));
  }

  async startWorker(w: WorkerProc): Promise<void> {
    w.child = this.spawnLogged(`worker-${w.index}`, [
      join(ROOT, 'worker/src/cli.ts'), 'start', '--orchestrator', this.url, '--key', w.key, '--concurrency', '1',
      '--price', PAY.price.toString(), '--chain-rpc-url', this.anvil.rpcUrl, '--ticket-broker', this.deployment.contracts.TicketBroker,
      '--face-value', PAY.face.toString(), '--win-prob', PAY.winProb, '--payments-dir', w.book, '--redeem-interval-ms', '3000',
    ], { REDIS_URL: '', LOG_LEVEL: 'info' });
  }

  /** Every process up: the orchestrators answer /healthz, the workers run. */
  async whole(): Promise<boolean> {
    if (this.workers.some((w) => !w.child) || this.orchestrators.some((o) => !o.child)) return false;
    const health = await Promise.all(this.orchestrators.map((o) => fetch(`http://127.0.0.1:${o.httpPort}/healthz`).then((r) => r.ok, () => false)));
    return health.every(Boolean);
  }

  /** kill -9: no handler runs, nothing is flushed. */
  kill(p: Proc): void {
    p.child?.kill('SIGKILL');
    p.child = null;
  }

  /** Redis stopped (SHUTDOWN: the AOF is flushed) and started again on the same data dir and port. */
  async restartRedis(downMs: number): Promise<void> {
    const exited = new Promise((r) => this.redis.child.once('exit', r));
    // its own connection, never retried: a SHUTDOWN queued for reconnection would stop it again
    const once = new Redis(this.redis.url, { maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null, lazyConnect: true });
    once.on('error', () => {});
    await once.connect();
    await once.call('SHUTDOWN').catch(() => {});
    once.disconnect();
    await exited;
    await sleep(downMs);
    const again = await startRedisServer({ dir: this.redis.dir, port: this.redis.port, password: this.redis.password });
    this.redis = { ...again, port: this.redis.port };
  }

  /** ffmpeg publishing live to the RTMP entry point; started again whenever it exits, until stopped. */
  publisher(streamKey: string, untilMs: number, width: number, height: number): { stop(): Promise<void>; connects(): number } {
    let stopped = false;
    let child: ChildProcess | null = null;
    let connects = 0;
    const loop = (async () => {
      while (!stopped && Date.now() < untilMs) {
        connects++;
        child = spawn(ffmpegPath(), [
          '-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', `testsrc2=size=${width}x${height}:rate=30`,
          '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', String(Math.max(1, Math.ceil((untilMs - Date.now()) / 1000))),
          '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '60', '-keyint_min', '60', '-sc_threshold', '0', '-b:v', '800k', '-pix_fmt', 'yuv420p',
          '-c:a', 'aac', '-b:a', '64k', '-ac', '2', '-ar', '48000', '-f', 'flv', `rtmp://127.0.0.1:${this.rtmp.port}/live/${streamKey}`,
        ], { stdio: ['ignore', 'ignore', 'pipe'] });
        child.stderr!.pipe(this.logFile('publisher'), { end: false });
        await new Promise((r) => child!.once('exit', r));
        if (!stopped) await sleep(1000); // OBS waits a moment before reconnecting too
      }
    })();
    return {
      connects: () => connects,
      async stop() {
        stopped = true;
        child?.kill('SIGINT');
        await loop;
      },
    };
  }

  async stop(): Promise<void> {
    for (const p of [...this.orchestrators, ...this.workers]) p.child?.kill('SIGKILL');
    await this.http?.close();
    await this.rtmp?.close();
    this.admin?.disconnect();
    this.redis?.child.kill('SIGKILL');
    await this.anvil?.stop();
    if (this.databaseUrl) await dropTestDatabase(this.databaseUrl).catch(() => {});
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` every 200 ms until it holds (or throws after `timeoutMs`, or at once when `whileTrue` stops holding). */
export async function waitUntil(what: string, fn: () => Promise<boolean>, timeoutMs: number, whileTrue: () => boolean = () => true): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until && whileTrue()) {
    if (await fn().catch(() => false)) return;
    await sleep(200);
  }
  throw new Error(`timed out waiting for ${what}`);
}
