import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPublicClient, createWalletClient, http, type Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';
import { ANVIL_KEYS, deploySegmint, freePort, startAnvil, type Anvil, type Deployment } from '@segmint/contracts';
import { ticketBrokerAbi, TicketCodec, TicketSigner, type TicketBatch } from '@segmint/protocol';
import { Redeemer } from './redeemer.js';
import { TicketReceiver } from './ticketReceiver.js';
import { TicketStore } from './ticketStore.js';

// The redeemer on a real anvil: batches, fates from the broker's events, pending kept when the
// sender cannot pay yet, gas ceiling, and the worker key's nonce moved by another transaction.
const E18 = 10n ** 18n;
const ALWAYS = (1n << 256n) - 1n;
const FACE = 10n ** 16n;

let anvil: Anvil;
let d: Deployment;
let dir: string;
const senderKey = ANVIL_KEYS[2] as Hex;
const account = privateKeyToAccount(generatePrivateKey());

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'segmint-redeemer-'));
  anvil = await startAnvil();
  d = await deploySegmint({ rpcUrl: anvil.rpcUrl, deployerKey: ANVIL_KEYS[0], fund: [{ address: account.address, eth: E18, tokens: 0n }] });
}, 120_000);

afterAll(async () => {
  await anvil?.stop();
  await rm(dir, { recursive: true, force: true });
});

const client = () => createPublicClient({ transport: http(anvil.rpcUrl) });
async function fund(deposit: bigint) {
  const wallet = createWalletClient({ account: privateKeyToAccount(senderKey), transport: http(anvil.rpcUrl), chain: { ...foundry, id: d.chainId } });
  const hash = await wallet.writeContract({ address: d.contracts.TicketBroker, abi: ticketBrokerAbi, functionName: 'fundDeposit', value: deposit });
  await client().waitForTransactionReceipt({ hash });
}

/**
 * Adds `count` always-winning tickets to `store`, each received as its own job into a store of its
 * own, as if the sender's funds had covered each when it came (the receiver counts winners held
 * against the funds; here the redeemer must meet winners the sender can no longer pay all of).
 */
async function winners(store: TicketStore, jobId: string, count: number, nonceBase: number) {
  const signer = new TicketSigner(senderKey, new TicketCodec(d.chainId, d.contracts.TicketBroker));
  for (let i = 0; i < count; i++) {
    const own = await TicketStore.open(join(dir, `received-${jobId}-${i}.jsonl`));
    const r = new TicketReceiver({ account, store: own, rpcUrl: anvil.rpcUrl, chainId: d.chainId, broker: d.contracts.TicketBroker, faceValue: FACE, winProb: ALWAYS, validitySec: 7200, fundsCacheMs: 0 });
    const p = await r.offer(`${jobId}-${i}`);
    const ticket = { recipient: account.address, sender: signer.address, faceValue: FACE, winProb: ALWAYS, senderNonce: BigInt(nonceBase + i), recipientRandHash: p.recipientRandHash as Hex, expiry: BigInt(p.expiry) };
    const batch: TicketBatch = {
      sender: signer.address, broker: d.contracts.TicketBroker, chainId: d.chainId, recipient: account.address, faceValue: p.faceValue, winProb: p.winProb,
      recipientRandHash: p.recipientRandHash as Hex, expiry: p.expiry, nonces: [String(ticket.senderNonce)], signatures: [signer.sign(ticket)], owed: '0', pricePerPixel: '0', pixels: '0', credit: '0',
    };
    expect((await r.receive(`${jobId}-${i}`, batch)).winners).toBe(1);
    await store.append(own.pending());
    await own.close();
  }
}

describe('Redeemer', () => {
  // First: the test after it moves the chain's clock 10,000 s ahead.
  it('tells each scheduled round: ok with its fates, failed when the chain cannot be reached (the metric the redemption alert reads)', async () => {
    await fund(FACE);
    const store = await TicketStore.open(join(dir, 'rounds.jsonl'));
    await winners(store, 'job-rounds', 1, 200);
    const rounds: { outcome: string; fates: string[] }[] = [];
    const onRound = (outcome: 'ok' | 'failed', fates: { fate: string }[]) => rounds.push({ outcome, fates: fates.map((f) => f.fate) });
    // Nothing listens on this port: every RPC call fails.
    const dead = new Redeemer({ store, account, rpcUrl: `http://127.0.0.1:${await freePort()}`, chainId: d.chainId, broker: d.contracts.TicketBroker, maxGasPrice: 10n ** 12n, backoffMs: 10, attempts: 1, onRound });
    dead.start(60_000);
    await dead.stop();
    expect(rounds).toEqual([{ outcome: 'failed', fates: [] }]);
    expect(store.pending()).toHaveLength(1); // kept for the next round
    const live = new Redeemer({ store, account, rpcUrl: anvil.rpcUrl, chainId: d.chainId, broker: d.contracts.TicketBroker, maxGasPrice: 10n ** 12n, onRound });
    live.start(60_000);
    await live.stop();
    expect(rounds[1]).toEqual({ outcome: 'ok', fates: ['redeemed'] });
    await store.close();
  }, 60_000);

  it('redeems in batches, keeps what the sender cannot pay pending, marks already-redeemed and expired, waits above MAX_GAS_PRICE', async () => {
    await fund(FACE * 3n); // 3 tickets' worth for 5 winners
    const store = await TicketStore.open(join(dir, 'book.jsonl'));
    await winners(store, 'job-1', 5, 0);
    const redeemer = (maxGasPrice: bigint) => new Redeemer({ store, account, rpcUrl: anvil.rpcUrl, chainId: d.chainId, broker: d.contracts.TicketBroker, maxGasPrice, batchSize: 2, backoffMs: 50 });

    // gas above the ceiling and nothing urgent: nothing happens
    expect(await redeemer(0n).runOnce()).toEqual([]);
    expect(store.pending()).toHaveLength(5);

    const progress: string[] = [];
    const fates = await redeemer(10n ** 12n).runOnce((p) => progress.push(p.message));
    expect(progress).toHaveLength(3); // 5 tickets in batches of 2
    expect(progress[0]).toMatch(/^batch 1\/3: 2 tickets, tx 0x[0-9a-f]{64}: 2 redeemed/);
    expect(fates.filter((f) => f.fate === 'redeemed')).toHaveLength(3);
    expect(store.pending()).toHaveLength(2); // InsufficientFunds: kept for after a top-up

    // someone else (anyone may) redeems one of them after a top-up; the redeemer then finds it used
    await fund(FACE * 2n);
    const [first] = store.pending();
    const wallet = createWalletClient({ account: privateKeyToAccount(ANVIL_KEYS[4] as Hex), transport: http(anvil.rpcUrl), chain: { ...foundry, id: d.chainId } });
    const t = first!.ticket;
    const hash = await wallet.writeContract({
      address: d.contracts.TicketBroker, abi: ticketBrokerAbi, functionName: 'redeemWinningTicket',
      args: [{ ...t, faceValue: BigInt(t.faceValue), winProb: BigInt(t.winProb), senderNonce: BigInt(t.senderNonce), expiry: BigInt(t.expiry) }, first!.signature, BigInt(first!.recipientRand)],
    });
    await client().waitForTransactionReceipt({ hash });

    // and the worker's key sent another transaction meanwhile (its nonce moved on)
    const own = createWalletClient({ account, transport: http(anvil.rpcUrl), chain: { ...foundry, id: d.chainId } });
    await own.sendTransaction({ to: account.address, value: 1n });
    const more = await redeemer(10n ** 12n).runOnce();
    expect(more.map((f) => f.fate).sort()).toEqual(['already-redeemed', 'redeemed']);
    expect(store.pending()).toHaveLength(0);

    // a winner that expired before redemption is marked without a transaction
    await fund(FACE);
    await winners(store, 'job-2', 1, 100);
    await client().request({ method: 'evm_increaseTime' as never, params: [10_000] as never });
    await client().request({ method: 'evm_mine' as never, params: [] as never });
    const realNow = Date.now;
    Date.now = () => realNow() + 10_000_000;
    try {
      const late = await redeemer(10n ** 12n).runOnce();
      expect(late.map((f) => f.fate)).toEqual(['expired']);
    } finally {
      Date.now = realNow;
    }
    const s = store.summary();
    expect(s).toMatchObject({ won: 6, redeemed: 4, 'already-redeemed': 1, expired: 1, pending: 0, earned: 4n * FACE });
    await store.close();
  }, 120_000);

});
