import type { Attack } from './attack.js';
import { runTamperingWorker, summary } from './fixtures/tamperingWorker.js';

/** Its renditions carry no audio (less work, smaller files). */
export default {
  name: 'audio stripped',
  async run(ctx) {
    const r = await runTamperingWorker(ctx, { tamper: 'strip-audio' });
    const mine = r.audits.filter((a) => a.worker === r.attacker);
    return { succeeded: mine.length > 0 || r.published < r.segments, detail: summary(r) };
  },
} satisfies Attack;
