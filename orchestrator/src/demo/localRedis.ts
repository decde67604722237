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
