import type { Attack } from './attack.js';
import { runTamperingWorker, summary } from './fixtures/tamperingWorker.js';

/**
 * Its ffmpeg reports a build string nobody else has (so no peer shares its fingerprint) and draws
 * a box into every third ladder run. Sampled at the same rate as anyone; with no peer, the
 * orchestrator checks it itself (quality against the source).
 */
export default {
  name: 'unique fingerprint',
  env: { SEGMINT_SPOTCHECK_RATE: '1' },
  async run(ctx) {
    const r = await runTamperingWorker(ctx, { tamper: 'box', every: 3, versionSuffix: '-mine' });
    const mine = r.audits.filter((a) => a.worker === r.attacker);
    if (mine.length === 0) throw new Error(`the attacker published nothing, so the attack was not tried (${summary(r)})`);
    const caught = mine.filter((a) => a.spotCheck?.faulty === r.attacker);
    const unchecked = mine.filter((a) => !a.spotCheck || a.spotCheck.outcome === 'no-verifier');
    const firstCatch = Math.min(...caught.map((a) => a.publishedAt));
    const wonAfter = mine.filter((a) => a.publishedAt > firstCatch + 1000);
    return {
      succeeded: caught.length === 0 || unchecked.length > 0 || wonAfter.length > 0 || caught.some((a) => a.spotCheck.replaced !== true),
      detail: `${summary(r)}; caught ${caught.length}, unchecked ${unchecked.length}, won after being caught ${wonAfter.length}`,
    };
  },
} satisfies Attack;
