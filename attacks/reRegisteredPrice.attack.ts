import { jobPixels } from '@segmint/protocol';
import { MarketplaceClient } from '../worker/src/marketplace/client.js';
import { privateKeyToAccount } from 'viem/accounts';
import type { Attack } from './attack.js';
import { attackerClient, honestResult, postResult, ticketParams, winJob } from './fixtures/attacker.js';

const WON_AT = 1_000n;

/** It wins at a low ask, then re-registers at the highest ask before posting its result, to be paid at that. */
export default {
  name: 're-registered price',
  chain: true,
  async run(ctx) {
    const attacker = await attackerClient(ctx, { pricePerPixel: WON_AT });
    try {
      const { job } = await winJob(ctx, attacker, 'reprice');
      const info = (await (await fetch(`${ctx.orch.url}/marketplace/info`)).json()) as { maxPricePerPixel: string };
      const greedy = new MarketplaceClient({
        orchestratorUrl: ctx.orch.url,
        account: privateKeyToAccount(attacker.key),
        pricePerPixel: BigInt(info.maxPricePerPixel),
        capabilities: { encoders: ['libx264'], maxConcurrent: 4, cores: 2, maxHeight: 2160, fingerprint: 'test' },
      });
      await greedy.register();
      const result = await honestResult(ctx, job, (id, e) => attacker.client.commit(id, e));
      const res = await postResult(job, { ...result, ticketParams: ticketParams(attacker.address) });
      const pay = res.json?.payment as { pricePerPixel: string; owed: string; pixels: string } | undefined;
      if (!pay) throw new Error(`no payment in the answer: ${res.status} ${JSON.stringify(res.json)}`);
      const fair = WON_AT * jobPixels(job);
      return {
        succeeded: BigInt(pay.pricePerPixel) !== WON_AT || BigInt(pay.owed) > fair,
        detail: `won at ${WON_AT} wei/pixel, re-registered at ${info.maxPricePerPixel}: paid at ${pay.pricePerPixel} wei/pixel, owed ${pay.owed} wei for ${pay.pixels} pixels (won price × pixels = ${fair})`,
      };
    } finally {
      await attacker.stop();
    }
  },
} satisfies Attack;
