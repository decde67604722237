import type { Attack, AttackContext } from './attack.js';
import { postFrom, registeredWorker } from './fixtures/workerCredentials.js';

/**
 * A worker keeps another one "online" (so auctions keep picking a dead worker, or an address it
 * controls through someone else's registration) by heartbeating for it with its own token. The
 * heartbeat token is bound to the address it was issued for.
 */
export default {
  name: 'heartbeat for another address',
  async run(ctx: AttackContext) {
    const victim = await registeredWorker(ctx.orch.url);
    const attacker = await registeredWorker(ctx.orch.url);
    victim.client.stop(); // a worker that went away: only the attacker could keep it online
    const url = `${ctx.orch.url}/marketplace/heartbeat`;
    const mine = `Bearer ${attacker.registered.heartbeatToken}`;
    const target = victim.registered.worker;
    const tries: [string, { status: number; body: string }][] = [];
    for (const [what, worker, authorization] of [
      ['its own token for the victim address', target, mine],
      ['its own token for the victim address in upper case', `0x${target.slice(2).toUpperCase()}`, mine],
      ['no token', target, ''],
      ['a made-up token', target, 'Bearer x.y'],
      ['the victim\'s address with its own token appended', target, `${mine}${mine.slice(7)}`],
    ] as const) {
      tries.push([what, await postFrom('127.0.0.1', url, { worker }, authorization ? { authorization } : {})]);
    }
    // The same token on its own address still works: the refusals above are about the address.
    const own = await postFrom('127.0.0.1', url, { worker: attacker.registered.worker }, { authorization: mine });
    attacker.client.stop();
    const worked = tries.filter(([, r]) => r.status < 300);
    return {
      succeeded: worked.length > 0,
      detail: worked.length
        ? `accepted: ${worked.map(([w, r]) => `${w} → ${r.status}`).join('; ')}`
        : `${tries.length} heartbeats for ${target} refused (${tries.map(([, r]) => r.status).join(', ')}); its own heartbeat answered ${own.status}`,
    };
  },
} satisfies Attack;
