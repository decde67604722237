import type { Attack } from './attack.js';
import { attackerClient, honestResult, postResult, smallStream, upload, uploaded } from './fixtures/attacker.js';

/** It reuses the signed result of one job (renditions and commitment) as the result of another. */
export default {
  name: 'replayed commitment from another job',
  async run(ctx) {
    const attacker = await attackerClient(ctx);
    try {
      const stream = await smallStream(ctx, 'replay');
      await stream.push(0);
      await stream.push(1);
      const [a, b] = await Promise.all([attacker.job(stream.jobId(0)), attacker.job(stream.jobId(1))]);
      const resultA = await honestResult(ctx, a, (id, e) => attacker.client.commit(id, e));
      // B's uploads are A's bytes, and A's signed commitment rides along.
      await upload(b, uploaded.get(a.jobId)!);
      const first = await postResult(a, resultA);
      const replay = await postResult(b, resultA);
      return {
        succeeded: replay.status === 200,
        detail: `job A accepted (${first.status}); A's result posted as job B's: ${replay.status} ${replay.json?.error?.code ?? replay.json?.status}`,
      };
    } finally {
      await attacker.stop();
    }
  },
} satisfies Attack;
