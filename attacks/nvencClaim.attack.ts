import { TAMPERINGS } from '../media/src/quality/tamperings.js';
import { writeFakeNvencFfmpeg } from '../e2e/fixtures/fakeNvencFfmpeg.js';
import type { Attack } from './attack.js';
import { runTamperingWorker, summary } from './fixtures/tamperingWorker.js';

/**
 * Its ffmpeg lists h264_nvenc and passes the worker's trial encode with it, so the worker's own
 * probe announces NVENC (no test flag): its results cannot be compared by hash. It quietly encodes
 * with x264 ultrafast (less work than asked) and tampers every rendition. One attack per
 * tampering; each is caught by the quality check against the orchestrator's own transcode.
 */
const attacks: Attack[] = TAMPERINGS.map((tamper) => ({
  name: `NVENC claim: ${tamper}`,
  env: { SEGMINT_SPOTCHECK_RATE: '1' },
  async run(ctx) {
    const ffmpeg = await writeFakeNvencFfmpeg({ dir: ctx.dir, tamper });
    const r = await runTamperingWorker(ctx, { ffmpeg });
    const mine = r.audits.filter((a) => a.worker === r.attacker);
    if (mine.length === 0) {
      // Nothing published: its results must have been refused outright (e.g. frames missing).
      const perf = ((await (await fetch(`${ctx.orch.url}/marketplace/workers/${r.attacker}`)).json()) as { performance: { failures: number } }).performance;
      if (perf.failures === 0) throw new Error(`the attacker was never given a segment, so the attack was not tried (${summary(r)})`);
      return { succeeded: false, detail: `${summary(r)}; its ${perf.failures} results were refused by the checks on its bytes` };
    }
    const passed = mine.filter((a) => a.spotCheck?.faulty !== r.attacker);
    return { succeeded: passed.length > 0, detail: `${summary(r)}; ${mine.length - passed.length} of its ${mine.length} caught` };
  },
}));

export default attacks;
