import { createHash } from 'node:crypto';

/**
 * A uniform draw in [0, 1) fixed by (seed, key): sha256(seed ‖ ':' ‖ key), first 48 bits.
 * For reproducible test runs only. In production the orchestrator samples spot-checks with its own
 * unpredictable randomness: a worker that knew the seed would know which segments get checked.
 */
export function seededDraw(seed: string, key: string): number {
  return createHash('sha256').update(`${seed}:${key}`).digest().readUIntBE(0, 6) / 2 ** 48;
}

/**
 * The seeded draw of a segment job (`STREAM.SESSION.SEQ`), keyed by session and seq only: a test
 * can predict it before the stream (and its random id) exists.
 */
export const seededJobDraw = (seed: string, jobId: string): number => seededDraw(seed, jobId.split('.').slice(-2).join('.'));
