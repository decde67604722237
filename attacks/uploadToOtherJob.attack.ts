import type { Attack } from './attack.js';
import { honestResult, upload, uploaded, victimAndAttacker } from './fixtures/attacker.js';

/** With the token of a job it won, it uploads renditions into another worker's job (or its own path under that job). */
export default {
  name: 'upload to another job',
  async run(ctx) {
    const s = await victimAndAttacker(ctx, 'upload-other');
    try {
      await honestResult(ctx, s.mine, (id, e) => s.attacker.client.commit(id, e));
      const files = uploaded.get(s.mine.jobId)!;
      const base = (worker: string) => `${ctx.orch.url}/transcode/${s.theirs.jobId}/${worker}`;
      const tries = {
        'victim path, own token': await upload(s.theirs, files, s.mine.token, base(s.victim.address)),
        'own path, own token': await upload(s.theirs, files, s.mine.token, base(s.attacker.address)),
        'victim path, no token': await upload(s.theirs, files, '', base(s.victim.address)),
      };
      const got = Object.entries(tries).map(([k, v]) => `${k}: ${v.join('/')}`).join('; ');
      return { succeeded: Object.values(tries).flat().some((x) => x < 400), detail: got };
    } finally {
      await s.stop();
    }
  },
} satisfies Attack;
