/**
 * `npm run attack [-- NAME…]`: runs every attacks/*.attack.ts against a real orchestrator of its
 * own (own Redis prefix and data dir; anvil with the contracts for those that need a chain), one
 * after the other, and says for each whether the attacker gained anything. Exit code 1 when any
 * attack succeeded or could not run. Last line: `attacks: N tried, K succeeded`.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ANVIL_KEYS, deploySegmint, startAnvil, type Anvil } from '@segmint/contracts';
import { generateSegments } from '@segmint/media';
import { openDatabase } from '../orchestrator/src/db/database.js';
import { startRedisServer } from '../orchestrator/src/demo/localRedis.js';
import type { Attack, AttackContext } from './attack.js';

process.env.LOG_LEVEL ??= 'error'; // the attack workers' processes: their refusals are expected
const ATTACK_TIMEOUT_MS = 240_000;
const here = import.meta.dirname;

async function loadAttacks(only: string[]): Promise<Attack[]> {
  const files = (await readdir(here)).filter((f) => f.endsWith('.attack.ts')).sort();
  // A file exports one attack, or a family of them (one per variant).
  const all = (await Promise.all(files.map(async (f) => ((await import(join(here, f))) as { default: Attack | Attack[] }).default))).flat();
  return only.length === 0 ? all : all.filter((a) => only.some((o) => a.name.includes(o)));
}

async function startChain(): Promise<{ anvil: Anvil; env: Record<string, string>; chain: NonNullable<AttackContext['chain']> }> {
  const anvil = await startAnvil();
  const d = await deploySegmint({ rpcUrl: anvil.rpcUrl, deployerKey: ANVIL_KEYS[0], fund: [] });
  const env = { CHAIN_RPC_URL: anvil.rpcUrl, SEGMINT_CHAIN_ID: String(d.chainId), SEGMINT_TICKET_BROKER: d.contracts.TicketBroker, SENDER_PRIVATE_KEY: ANVIL_KEYS[1]! };
  return { anvil, env, chain: { rpcUrl: anvil.rpcUrl, chainId: d.chainId, ticketBroker: d.contracts.TicketBroker } };
}

const withTimeout = <T>(p: Promise<T>, ms: number, what: string) =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} did not finish within ${ms / 1000} s`)), ms).unref())]);

/**
 * A Redis that lets anyone in as the default user lets a worker in as the orchestrator: the
 * attacks run against a production-like one. Without a password in REDIS_URL, a private
 * password-protected redis-server is started for the run.
 */
async function protectedRedis(): Promise<(() => void) | undefined> {
  const url = new URL(process.env.REDIS_URL || 'redis://127.0.0.1:6379');
  if (url.password) return undefined;
  const own = await startRedisServer();
  process.env.REDIS_URL = own.url;
  console.log(`REDIS_URL has no password: the attacks run on a private password-protected redis-server (port ${new URL(own.url).port})`);
  return () => {
    own.child.kill();
    void rm(own.dir, { recursive: true, force: true });
  };
}

async function main(): Promise<number> {
  const stopRedis = await protectedRedis();
  // Imported once REDIS_URL is final (the helpers read it at load).
  const { REDIS_URL, startTestOrchestrator } = await import('../e2e/helpers.js');
  const attacks = await loadAttacks(process.argv.slice(2));
  const media = await mkdtemp(join(tmpdir(), 'segmint-attack-media-'));
  const [db, files] = await Promise.all([openDatabase(), generateSegments({ dir: media, count: 6, width: 640, height: 360 })]);
  const segments = await Promise.all(files.map((f) => readFile(f)));
  let chain: Awaited<ReturnType<typeof startChain>> | undefined;
  let succeeded = 0;
  let broken = 0;
  try {
    for (const attack of attacks) {
      if (attack.chain) chain ??= await startChain();
      const dir = await mkdtemp(join(tmpdir(), 'segmint-attack-'));
      const orch = await startTestOrchestrator(db, { SEGMINT_IDLE_TIMEOUT: '600', ...(attack.chain ? chain!.env : {}), ...attack.env });
      const started = Date.now();
      try {
        const ctx: AttackContext = { orch, redisUrl: REDIS_URL, db, segments, dir, ...(attack.chain ? { chain: chain!.chain } : {}) };
        const r = await withTimeout(attack.run(ctx), ATTACK_TIMEOUT_MS, attack.name);
        if (r.succeeded) succeeded++;
        console.log(`attack ${attack.name}: ${r.succeeded ? 'SUCCEEDED' : 'gained nothing'} (${((Date.now() - started) / 1000).toFixed(1)} s): ${r.detail}`);
      } catch (err) {
        broken++;
        console.log(`attack ${attack.name}: COULD NOT RUN: ${(err as Error).stack ?? err}`);
      } finally {
        await orch.stop().catch(() => {});
        await rm(dir, { recursive: true, force: true });
      }
    }
  } finally {
    await chain?.anvil.stop();
    await db.close();
    await rm(media, { recursive: true, force: true });
    stopRedis?.();
  }
  console.log(`attacks: ${attacks.length} tried, ${succeeded} succeeded${broken ? `, ${broken} could not run` : ''}`);
  return succeeded > 0 || broken > 0 || attacks.length === 0 ? 1 : 0;
}

process.exit(await main());
