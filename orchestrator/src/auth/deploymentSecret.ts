import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { link, mkdir, open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { RedisClient } from '../redis/redisClient.js';
import { ConfigError } from '../config.js';

/** The secret's file under DATA_DIR (mode 0600). */
export const secretPath = (dataDir: string) => join(dataDir, 'secret');

/** Redis key holding the fingerprint of the secret of the orchestrators on a prefix. */
export const secretFingerprintKey = (prefix: string) => `${prefix}:secret:fingerprint`;

/** Another orchestrator on the same Redis prefix signs with a different secret. */
export class SecretMismatchError extends ConfigError {
  override name = 'SecretMismatchError';
  readonly code = 'SECRET_MISMATCH';
}

/**
 * The secret that signs job tokens and token-gate grants: SEGMINT_SECRET when given, else the one
 * in DATA_DIR/secret, generated there on first start (32 random bytes, hex; written to a unique
 * temp file with mode 0600, fsync'd, linked into place so two starts never both win, directory
 * fsync'd). The same after every restart, so tokens in flight stay valid.
 */
export async function deploymentSecret(given: string, dataDir: string): Promise<string> {
  if (given) return given;
  const path = secretPath(dataDir);
  const existing = await readSecret(path);
  if (existing) return existing;
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(`${randomBytes(32).toString('hex')}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await link(tmp, path); // fails if another start created it meanwhile: theirs is kept
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    await unlink(tmp);
  }
  const dir = await open(dataDir, 'r');
  await dir.sync().finally(() => dir.close());
  const secret = await readSecret(path);
  if (!secret) throw new ConfigError(`could not create the secret at ${path}`);
  return secret;
}

async function readSecret(path: string): Promise<string | null> {
  try {
    return (await readFile(path, 'utf8')).trim() || null;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** HMAC of a fixed message under the secret: tells secrets apart without revealing one. */
export function secretFingerprint(secret: string): string {
  return createHmac('sha256', secret).update('segmint secret fingerprint v1').digest('hex');
}

/**
 * Registers this secret's fingerprint for the Redis prefix, or refuses to start when another
 * orchestrator registered a different one: its tokens would be refused here and ours there.
 */
export async function claimSecret(redis: RedisClient, prefix: string, secret: string): Promise<void> {
  const key = secretFingerprintKey(prefix);
  const mine = secretFingerprint(secret);
  await redis.set(key, mine, 'NX');
  const theirs = (await redis.get(key)) ?? '';
  if (theirs.length === mine.length && timingSafeEqual(Buffer.from(theirs), Buffer.from(mine))) return;
  throw new SecretMismatchError(
    `another orchestrator on this Redis (prefix "${prefix}") signs with a different secret: every orchestrator of a deployment ` +
      'needs the same SEGMINT_SECRET (or a copy of the first one\'s DATA_DIR/secret). ' +
      `If the secret was rotated on purpose, delete the Redis key ${key} once every old orchestrator has stopped.`,
  );
}
