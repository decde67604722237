import { jobPixels, ticketEV } from '@segmint/protocol';
import type { Attack } from './attack.js';
import { attackerClient, honestResult, postResult, ticketParams, winJob } from './fixtures/attacker.js';

const PRICE = 1_000n;

/**
 * It asks for tickets worth more than the job: a face value above the sender's limit, tickets
 * for another recipient, and a certain win (win probability 2^256 − 1) at the highest face value.
 */
export default {
  name: 'ticket params asking for more than the job is worth',
  chain: true,
  async run(ctx) {
    const attacker = await attackerClient(ctx, { pricePerPixel: PRICE });
    try {
      const { job } = await winJob(ctx, attacker, 'greedy-tickets');
      const result = await honestResult(ctx, job, (id, e) => attacker.client.commit(id, e));
      const huge = await postResult(job, { ...result, ticketParams: ticketParams(attacker.address, { faceValue: (10n ** 30n).toString() }) });
      const other = await postResult(job, { ...result, ticketParams: ticketParams('0x000000000000000000000000000000000000dEaD') });
      const certain = ticketParams(attacker.address, { faceValue: (10n ** 17n).toString(), winProb: ((1n << 256n) - 1n).toString() });
      const res = await postResult(job, { ...result, ticketParams: certain });
      const pay = res.json?.payment as { signatures: string[]; credit: string } | undefined;
      if (!pay) throw new Error(`no payment in the answer: ${res.status} ${JSON.stringify(res.json)}`);
      const owed = PRICE * jobPixels(job);
      const ev = ticketEV(BigInt(certain.faceValue), BigInt(certain.winProb)) * BigInt(pay.signatures.length);
      return {
        succeeded: huge.status < 400 || other.status < 400 || ev > owed,
        detail: `face 10^30: ${huge.status} ${huge.json?.error?.code}; another recipient: ${other.status} ${other.json?.error?.code}; certain win at 0.1 ETH face: ${pay.signatures.length} tickets, EV ${ev} wei for ${owed} wei owed (credit ${pay.credit})`,
      };
    } finally {
      await attacker.stop();
    }
  },
} satisfies Attack;
