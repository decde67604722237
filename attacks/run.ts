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
import { REDIS_URL, startTestOrchestrator } from '../e2e/helpers.js';
import type { Attack, AttackContext } from './attack.js';

process.env.LOG_LEVEL ??= 'error'; // the attack workers' processes: their refusals are expected
const ATTACK_TIMEOUT_MS = 240_000;
const here = import.meta.dirname;

async function loadAttacks(only: string[]): Promise<Attack[]> {
  const files = (await readdir(here)).filter((f) => f.endsWith('.attack.ts')).sort();
  const all = await Promise.all(files.map(async (f) => ((await import(join(here, f))) as { default: Attack }).default));
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

async function main(): Promise<number> {
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
  }
  console.log(`attacks: ${attacks.length} tried, ${succeeded} succeeded${broken ? `, ${broken} could not run` : ''}`);
  return succeeded > 0 || broken > 0 || attacks.length === 0 ? 1 : 0;
}

process.exit(await main());
