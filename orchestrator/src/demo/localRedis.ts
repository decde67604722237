import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** True when a Redis answers PING at `url` within a second. */
export function redisAnswers(url: string): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const s = connect(Number(u.port || 6379), u.hostname);
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1000, () => done(false));
    s.on('connect', () => s.write('PING\r\n'));
    s.on('data', (d) => done(d.toString().startsWith('+PONG') || d.toString().startsWith('-NOAUTH')));
    s.on('error', () => done(false));
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * Starts `redis-server` on a free port as production runs it: a password (`--requirepass`, random
 * unless given) and AOF persistence (`appendfsync everysec`) in `dir` (default: a new temp dir).
 * Given the `dir`, `port` and `password` of one stopped before, it is that Redis restarted: it
 * loads the AOF. Returns its URL (password included), the child and the data dir.
 */
export async function startRedisServer(opts: { dir?: string; port?: number; password?: string } = {}): Promise<{ url: string; child: ChildProcess; dir: string; password: string }> {
  const port = opts.port ?? (await freePort());
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'segmint-redis-'));
  mkdirSync(dir, { recursive: true });
  const password = opts.password ?? randomBytes(24).toString('hex');
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--requirepass', password, '--save', '', '--appendonly', 'yes', '--appendfsync', 'everysec', '--dir', dir];
  const child = spawn('redis-server', args, { stdio: 'ignore' });
  const failed = new Promise<never>((_, reject) =>
    child.once('error', () => reject(new Error('redis-server is not on PATH: install Redis or set REDIS_URL'))),
  );
  for (let i = 0; i < 50; i++) {
    if (await Promise.race([redisAnswers(`redis://127.0.0.1:${port}`), failed])) return { url: `redis://:${password}@127.0.0.1:${port}`, child, dir, password };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill();
  throw new Error('redis-server did not start');
}

/**
 * Uses the Redis at `url` when it answers; otherwise starts `redis-server` with a password and AOF
 * (startRedisServer). Returns the URL to use (with the password) and the child to stop, if any.
 */
export async function ensureRedis(url: string): Promise<{ url: string; child?: ChildProcess; dir?: string }> {
  if (await redisAnswers(url)) return { url };
  const { url: local, child, dir } = await startRedisServer();
  return { url: local, child, dir };
}

export type LocalRedisCluster = { url: string; ports: number[]; password: string; dir: string; stop(): Promise<void> };

/**
 * Starts a Redis Cluster of `masters` redis-servers (no replicas) on free ports, all with one
 * password and AOF in `dir`, and joins them (`redis-cli --cluster create`): what the cluster
 * tests run on. Its URL names the first node; clients discover the rest.
 */
export async function startRedisCluster(opts: { masters?: number; dir?: string } = {}): Promise<LocalRedisCluster> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'segmint-redis-cluster-'));
  const password = randomBytes(24).toString('hex');
  const nodes: { port: number; child: ChildProcess }[] = [];
  const stop = async () => {
    await Promise.all(nodes.map(({ child }) => new Promise((r) => (child.exitCode !== null ? r(null) : (child.once('exit', r), child.kill())))));
  };
  try {
    for (let i = 0; i < (opts.masters ?? 3); i++) {
      const nodeDir = join(dir, `node-${i}`);
      mkdirSync(nodeDir, { recursive: true });
      const port = await freePort();
      const child = spawn('redis-server', [
        '--port', String(port), '--bind', '127.0.0.1', '--requirepass', password, '--masterauth', password,
        '--cluster-enabled', 'yes', '--cluster-config-file', join(nodeDir, 'nodes.conf'), '--cluster-node-timeout', '2000',
        '--save', '', '--appendonly', 'yes', '--appendfsync', 'everysec', '--dir', nodeDir,
      ], { stdio: 'ignore' });
      nodes.push({ port, child });
    }
    for (const { port } of nodes) await waitForRedis(port);
    await runRedisCli(['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'], password);
    for (const { port } of nodes) await waitForClusterOk(port, password);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: `redis://:${password}@127.0.0.1:${nodes[0]!.port}`, ports: nodes.map((n) => n.port), password, dir, stop };
}

async function waitForRedis(port: number): Promise<void> {
  for (let i = 0; i < 50; i++) {
    if (await redisAnswers(`redis://127.0.0.1:${port}`)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`redis-server on port ${port} did not start (is redis-server on PATH?)`);
}

function runRedisCli(args: string[], password: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('redis-cli', args, { env: { ...process.env, REDISCLI_AUTH: password }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.once('error', () => reject(new Error('redis-cli is not on PATH: install Redis (apt-get install redis-server)')));
    child.once('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`redis-cli ${args.join(' ')} failed (${code}): ${out.slice(-500)}`))));
  });
}

/** Until the node says cluster_state:ok (every slot served), at most 10 s. */
async function waitForClusterOk(port: number, password: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if ((await runRedisCli(['-p', String(port), 'cluster', 'info'], password)).includes('cluster_state:ok')) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the Redis Cluster node on port ${port} never reached cluster_state:ok`);
}
