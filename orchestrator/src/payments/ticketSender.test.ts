import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { createPublicClient, http, type Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { ANVIL_KEYS, deploySegmint, startAnvil, type Anvil, type Deployment } from '@segmint/contracts';
import {
  ApiError, batchTickets, recipientRandHash, ticketBrokerAbi, ticketEV, TicketVerifier, winProbability,
  type SegmentJob, type TicketParams,
} from '@segmint/protocol';
import { startPayments } from './startPayments.js';
import type { TicketSender } from './ticketSender.js';

// The sender on a real anvil and real Redis: funds the broker at start, pays accepted results once,
// re-sends the same tickets for a retried result, refuses what it cannot cover or will not sign.
const E18 = 10n ** 18n;
const FACE = 10n ** 15n;
const WIN = winProbability(1n, 10n);
const EV = ticketEV(FACE, WIN);
const PRICE = 1_000_000n;

let anvil: Anvil;
let d: Deployment;
const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const prefix = `segmint-test-sender-${randomUUID().slice(0, 8)}`;
const worker = privateKeyToAccount(generatePrivateKey()).address;
const senderKey = ANVIL_KEYS[3] as Hex;
let sender: TicketSender;

const config = (over: Partial<Parameters<typeof startPayments>[0]['config']> = {}) => ({
  ticketBroker: d.contracts.TicketBroker, senderKey, senderDeposit: E18, senderReserve: E18 / 2n,
  maxFaceValue: 10n ** 17n, minTicketValiditySec: 60, maxTicketsPerResult: 100, ...over,
});
const start = (over: Partial<Parameters<typeof startPayments>[0]['config']> = {}) =>
  startPayments({ config: config(over), chainRpcUrl: anvil.rpcUrl, chainId: d.chainId, redis, prefix, logger: pino({ level: 'silent' }) });

beforeAll(async () => {
  anvil = await startAnvil();
  d = await deploySegmint({ rpcUrl: anvil.rpcUrl, deployerKey: ANVIL_KEYS[0], fund: [] });
  sender = (await start())!;
}, 120_000);

afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
  await anvil?.stop();
});

const job = (jobId: string) => ({ jobId }) as SegmentJob;
const params = (over: Partial<TicketParams> = {}): TicketParams => ({
  recipient: worker, faceValue: FACE.toString(), winProb: WIN.toString(), recipientRandHash: recipientRandHash(42n), expiry: Math.floor(Date.now() / 1000) + 3600, ...over,
});
/** 1 rendition of 1280x720x60 frames: 55,296,000 pixels × 1,000,000 wei = 5.5296e13 wei ≈ 0.55 tickets of EV 1e14. */
const OWED = { pricePerPixel: PRICE, pixels: 1280n * 720n * 60n };

describe('TicketSender', () => {
  it('funds deposit and reserve to the targets at start', async () => {
    const client = createPublicClient({ transport: http(anvil.rpcUrl) });
    const s = await client.readContract({ address: d.contracts.TicketBroker, abi: ticketBrokerAbi, functionName: 'getSender', args: [sender.address] });
    expect(BigInt(s.deposit)).toBe(E18);
    expect(BigInt(s.reserve)).toBe(E18 / 2n);
    // a second start finds them above half: no new funding
    await start();
    const again = await client.readContract({ address: d.contracts.TicketBroker, abi: ticketBrokerAbi, functionName: 'getSender', args: [sender.address] });
    expect(BigInt(again.deposit)).toBe(E18);
  });

  it('pays accepted results with valid tickets covering price × pixels; a retried result gets the very same tickets', async () => {
    const verifier = new TicketVerifier(sender.address, sender.codec);
    let owed = 0n;
    let sent = 0n;
    let lastNonce = -1n;
    for (let i = 0; i < 12; i++) {
      const b = (await sender.pay(job(`j${i}`), worker, params(), OWED))!;
      owed += PRICE * 1280n * 720n * 60n;
      expect(b.owed).toBe((PRICE * 1280n * 720n * 60n).toString());
      sent += BigInt(b.nonces.length) * EV;
      expect(owed - sent).toBe(BigInt(b.credit));
      expect(BigInt(b.credit)).toBeLessThan(EV);
      for (const { ticket, signature } of batchTickets(b)) {
        expect(verifier.verify(ticket, signature)).toBe(true);
        expect(ticket.senderNonce).toBeGreaterThan(lastNonce);
        lastNonce = ticket.senderNonce;
      }
      const retried = await sender.pay(job(`j${i}`), worker, params({ expiry: Math.floor(Date.now() / 1000) + 7200 }), 'duplicate');
      expect(retried).toEqual(b);
      // even a second "accepted" for the job (a bug upstream) books nothing new
      expect(await sender.pay(job(`j${i}`), worker, params(), OWED)).toEqual(b);
    }
    expect(sent).toBeGreaterThan(0n);
  });

  it('pays nothing for a duplicate it never paid, nor a result without ticket params', async () => {
    expect(await sender.pay(job('never'), worker, params(), 'duplicate')).toBeUndefined();
    expect(await sender.pay(job('no-params'), worker, undefined, OWED)).toBeUndefined();
  });

  it('refuses ticket params it will not sign (TICKET_PARAMS_INVALID)', () => {
    const code = (p: TicketParams, w = worker) => {
      try {
        sender.checkParams(w, p);
        return 'ok';
      } catch (err) {
        return err instanceof ApiError ? err.code : String(err);
      }
    };
    expect(code(params())).toBe('ok');
    expect(code(params(), privateKeyToAccount(generatePrivateKey()).address)).toBe('TICKET_PARAMS_INVALID'); // not the worker's own address
    expect(code(params({ faceValue: (10n ** 17n + 1n).toString() }))).toBe('TICKET_PARAMS_INVALID');
    expect(code(params({ faceValue: '0' }))).toBe('TICKET_PARAMS_INVALID');
    expect(code(params({ winProb: '1' }))).toBe('TICKET_PARAMS_INVALID'); // EV rounds to 0
    expect(code(params({ expiry: Math.floor(Date.now() / 1000) + 10 }))).toBe('TICKET_PARAMS_INVALID');
  });

  it('sends no ticket it cannot cover: the amount stays as credit and the answer says why', async () => {
    const big = params({ faceValue: (10n ** 17n).toString(), winProb: (1n << 255n).toString() }); // EV 0.05 ETH
    // deposit 1 ETH + share of 0.5 ETH reserve covers 0.1 ETH: paid
    const covered = (await sender.pay(job('big-ok'), worker, big, OWED))!;
    expect(covered.unpaid).toBeUndefined();
    // an account with no ETH cannot fund the broker: it starts, and pays nothing
    const poor = (await start({ senderKey: generatePrivateKey() }))!;
    const owed = PRICE * 1280n * 720n * 60n;
    const w2 = privateKeyToAccount(generatePrivateKey()).address;
    const first = (await poor.pay(job('poor-1'), w2, params({ recipient: w2, faceValue: '1000', winProb: (1n << 255n).toString() }), OWED))!;
    expect(first.nonces).toEqual([]);
    expect(first.unpaid).toMatch(/cannot cover a 1000 wei ticket/);
    expect(first.credit).toBe(owed.toString()); // carried, owed to the worker
    const second = (await poor.pay(job('poor-2'), w2, params({ recipient: w2, faceValue: '1000', winProb: (1n << 255n).toString() }), OWED))!;
    expect(second.credit).toBe((2n * owed).toString());
  }, 60_000);
});
