import type { Attack } from './attack.js';
import { honestResult, postResult, victimAndAttacker } from './fixtures/attacker.js';

/** It posts a valid, signed result for a job another worker won (to be paid for it, or to publish its bytes). */
export default {
  name: 'result for a job it did not win',
  async run(ctx) {
    const s = await victimAndAttacker(ctx, 'not-won');
    try {
      // A real transcode of the victim's segment, committed and signed by the attacker.
      const asVictim = { ...s.theirs, token: s.mine.token };
      const result = await honestResult(ctx, s.mine, (id, e) => s.attacker.client.commit(id, e)).then(() =>
        honestResult(ctx, { ...s.theirs, resultUrl: `${ctx.orch.url}/transcode/${s.theirs.jobId}/${s.attacker.address}`, token: s.mine.token }, (id, e) => s.attacker.client.commit(id, e)).catch(() => null),
      );
      const body = result ?? { renditions: [], encoderFingerprint: 'test', workerId: 'x', transcodeMs: 1, commitment: { root: `0x${'0'.repeat(64)}`, signature: `0x${'0'.repeat(130)}` } };
      const tries = {
        'own path under their job': await postResult({ ...asVictim, resultUrl: `${ctx.orch.url}/transcode/${s.theirs.jobId}/${s.attacker.address}` }, body),
        'their path': await postResult(asVictim, body),
      };
      const got = Object.entries(tries).map(([k, v]) => `${k}: ${v.status} ${v.json?.error?.code ?? ''}`).join('; ');
      return { succeeded: Object.values(tries).some((t) => t.status < 400), detail: `${got}${result ? '' : ' (its uploads were refused too)'}` };
    } finally {
      await s.stop();
    }
  },
} satisfies Attack;
