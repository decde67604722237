import { generatePrivateKey } from 'viem/accounts';
import type { Attack, AttackContext } from './attack.js';
import { postFrom, signedRegistration } from './fixtures/workerCredentials.js';

/** Above every default limit (10 per address, 60 per IP, per minute). */
const SAME_ADDRESS = 25;
const FRESH_ADDRESSES = 100;

/**
 * Floods /marketplace/register: one address re-registering with rising nonces (each one creates
 * or rotates a Redis ACL user), then many fresh addresses from one IP. Each flood comes from its
 * own loopback address so it never uses up the 127.0.0.1 quota other tests and attacks share.
 * Succeeded when either flood was never answered 429 REGISTRATION_RATE_LIMITED.
 */
export default {
  name: 'registration flood',
  async run(ctx: AttackContext) {
    const url = `${ctx.orch.url}/marketplace/register`;
    const key = generatePrivateKey();
    const sameAddress: number[] = [];
    const base = BigInt(Date.now()) * 1000n;
    // Spread over IPs so only the per-address limit can stop it.
    for (let i = 0; i < SAME_ADDRESS; i++) sameAddress.push((await postFrom(`127.0.0.${10 + i}`, url, await signedRegistration(ctx.orch.url, key, base + BigInt(i)))).status);
    const oneIp: number[] = [];
    for (let i = 0; i < FRESH_ADDRESSES; i++) oneIp.push((await postFrom('127.0.0.3', url, await signedRegistration(ctx.orch.url, generatePrivateKey(), 1n))).status);
    const summary = (s: number[]) => `${s.filter((x) => x === 200).length} accepted, ${s.filter((x) => x === 429).length} limited, other ${s.filter((x) => x !== 200 && x !== 429).join(',') || 'none'}`;
    const limited = (s: number[]) => s.includes(429);
    return {
      succeeded: !limited(sameAddress) || !limited(oneIp),
      detail: `one address ×${SAME_ADDRESS}: ${summary(sameAddress)}; one IP ×${FRESH_ADDRESSES} addresses: ${summary(oneIp)}`,
    };
  },
} satisfies Attack;
