import type { Attack } from './attack.js';
import { runTamperingWorker, summary } from './fixtures/tamperingWorker.js';

/**
 * Its renditions carry other audio (silence) of the right codec, channels and length: every
 * check on its own bytes passes; only comparing with another transcode can tell.
 */
export default {
  name: 'audio replaced',
  env: { SEGMINT_SPOTCHECK_RATE: '1' },
  async run(ctx) {
    const r = await runTamperingWorker(ctx, { tamper: 'silence-audio' });
    const mine = r.audits.filter((a) => a.worker === r.attacker);
    if (mine.length === 0) throw new Error(`the attacker published nothing, so the attack was not tried (${summary(r)})`);
    const caught = mine.filter((a) => a.spotCheck?.faulty === r.attacker && a.spotCheck.mismatched?.some((m: string) => m.endsWith('/audio')));
    const kept = mine.filter((a) => a.spotCheck?.faulty !== r.attacker);
    return { succeeded: caught.length === 0 || kept.length > 0, detail: `${summary(r)}; caught on audio ${caught.length}` };
  },
} satisfies Attack;
