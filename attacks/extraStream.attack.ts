import type { Attack } from './attack.js';
import { runTamperingWorker, summary } from './fixtures/tamperingWorker.js';

/** Its renditions carry an extra elementary stream (room for anything a player might pick). */
export default {
  name: 'extra stream',
  async run(ctx) {
    const r = await runTamperingWorker(ctx, { tamper: 'extra-stream' });
    const mine = r.audits.filter((a) => a.worker === r.attacker);
    return { succeeded: mine.length > 0 || r.published < r.segments, detail: summary(r) };
  },
} satisfies Attack;
