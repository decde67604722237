import { commitmentEntries } from '@segmint/protocol';
import type { Attack } from './attack.js';
import { attackerClient, honestResult, postResult, winJob } from './fixtures/attacker.js';

/**
 * Registered with one fingerprint, it answers with another (one no peer shares, hoping to dodge
 * the hash check), with a commitment signed over that other fingerprint.
 */
export default {
  name: 'fingerprint switched mid-stream',
  async run(ctx) {
    const attacker = await attackerClient(ctx);
    try {
      const { job } = await winJob(ctx, attacker, 'fingerprint-switch');
      const honest = await honestResult(ctx, job, (id, e) => attacker.client.commit(id, e));
      const other = 'ffmpeg/9.9-mine;libx264;preset=veryfast;threads=1;ladder-v9';
      const switched = { ...honest, encoderFingerprint: other, commitment: await attacker.client.commit(job.jobId, commitmentEntries(honest.renditions, other)) };
      const res = await postResult(job, switched);
      return { succeeded: res.status === 200, detail: `result with fingerprint "${other}" (registered "test"): ${res.status} ${res.json?.error?.code ?? res.json?.status}` };
    } finally {
      await attacker.stop();
    }
  },
} satisfies Attack;
