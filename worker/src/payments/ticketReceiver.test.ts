import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BaseError, ContractFunctionRevertedError, createPublicClient, createWalletClient, http, type Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';
import { ANVIL_KEYS, deploySegmint, startAnvil, type Anvil, type Deployment } from '@segmint/contracts';
import { ticketBrokerAbi, TicketCodec, TicketSigner, type Ticket, type TicketBatch } from '@segmint/protocol';
import { TicketReceiver, TicketRejectedError } from './ticketReceiver.js';
import { TicketStore } from './ticketStore.js';

// Every bad ticket is refused twice over: by the worker off-chain (a named error, before the job is
// acknowledged) and by the broker on-chain (it reverts). Real anvil, real contracts.
const E18 = 10n ** 18n;
const ALWAYS = (1n << 256n) - 1n; // winProb that always wins, so the on-chain check reaches every rule
const FACE = 10n ** 15n;

let anvil: Anvil;
let d: Deployment;
let dir: string;
const senderKey = ANVIL_KEYS[2] as Hex;
const poorKey = generatePrivateKey(); // a sender with nothing on the broker
const workerAccount = privateKeyToAccount(generatePrivateKey());
let chain: Omit<typeof foundry, "id"> & { id: number };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'segmint-receiver-'));
  anvil = await startAnvil();
  d = await deploySegmint({ rpcUrl: anvil.rpcUrl, deployerKey: ANVIL_KEYS[0], fund: [{ address: workerAccount.address, eth: E18, tokens: 0n }] });
  chain = { ...foundry, id: d.chainId };
  const wallet = createWalletClient({ chain, account: privateKeyToAccount(senderKey), transport: http(anvil.rpcUrl) });
  const hash = await wallet.writeContract({ address: d.contracts.TicketBroker, abi: ticketBrokerAbi, functionName: 'fundDepositAndReserve', args: [E18, E18], value: 2n * E18 });
  await createPublicClient({ chain, transport: http(anvil.rpcUrl) }).waitForTransactionReceipt({ hash });
}, 120_000);

afterAll(async () => {
  await anvil?.stop();
  await rm(dir, { recursive: true, force: true });
});

let n = 0;
async function receiver() {
  const store = await TicketStore.open(join(dir, `book-${++n}.jsonl`));
  const r = new TicketReceiver({ account: workerAccount, store, rpcUrl: anvil.rpcUrl, chainId: d.chainId, broker: d.contracts.TicketBroker, faceValue: FACE, winProb: ALWAYS, validitySec: 3600 });
  return { r, store };
}

/** A batch as an orchestrator would send for `jobId`, signed by `key`, with `edit` applied to each ticket before signing. */
async function batchFor(r: TicketReceiver, jobId: string, key: Hex, edit: (t: Ticket, i: number) => Ticket = (t) => t, count = 2) {
  const p = await r.offer(jobId);
  const signer = new TicketSigner(key, new TicketCodec(d.chainId, d.contracts.TicketBroker));
  const tickets = Array.from({ length: count }, (_, i) =>
    edit({ recipient: p.recipient as Hex, sender: signer.address, faceValue: BigInt(p.faceValue), winProb: BigInt(p.winProb), senderNonce: BigInt(100 + i), recipientRandHash: p.recipientRandHash as Hex, expiry: BigInt(p.expiry) }, i),
  );
  const batch: TicketBatch = {
    sender: signer.address, broker: d.contracts.TicketBroker, chainId: d.chainId, recipient: p.recipient as Hex, faceValue: p.faceValue, winProb: p.winProb,
    recipientRandHash: p.recipientRandHash as Hex, expiry: Number(tickets[0]!.expiry), nonces: tickets.map((t) => t.senderNonce.toString()),
    signatures: tickets.map((t) => signer.sign(t)), owed: '0', pricePerPixel: '0', pixels: '0', credit: '0',
  };
  return { batch, tickets, rand: await r.recipientRand(jobId) };
}

/** The broker's revert reason for redeeming `ticket` (null: it would succeed). */
async function onChain(ticket: Ticket, sig: Hex, rand: bigint): Promise<string | null> {
  const client = createPublicClient({ chain, transport: http(anvil.rpcUrl) });
  try {
    await client.simulateContract({ account: workerAccount, address: d.contracts.TicketBroker, abi: ticketBrokerAbi, functionName: 'redeemWinningTicket', args: [ticket, sig, rand] });
    return null;
  } catch (err) {
    const revert = err instanceof BaseError ? err.walk((e) => e instanceof ContractFunctionRevertedError) : null;
    return revert instanceof ContractFunctionRevertedError ? (revert.data?.errorName ?? 'reverted') : String(err);
  }
}

async function refusal(r: TicketReceiver, jobId: string, batch: TicketBatch): Promise<string> {
  try {
    await r.receive(jobId, batch);
  } catch (err) {
    if (err instanceof TicketRejectedError) return err.code;
    throw err;
  }
  return 'accepted';
}

describe('TicketReceiver', () => {
  it('accepts its own valid tickets, stores the winners durably, and the broker would pay them', async () => {
    const { r, store } = await receiver();
    const { batch, tickets, rand } = await batchFor(r, 'job-ok', senderKey);
    expect(await r.receive('job-ok', batch)).toEqual({ tickets: 2, winners: 2 });
    expect(store.pending()).toHaveLength(2);
    expect(await onChain(tickets[0]!, batch.signatures[0]!, rand)).toBeNull();
    // the same batch again (a retried result) is not counted twice
    await r.offer('job-ok');
    expect(await r.receive('job-ok', batch)).toEqual({ tickets: 0, winners: 0 });
    const reread = await TicketStore.open(store.path);
    expect(reread.pending()).toHaveLength(2);
    await reread.close();
    await store.close();
  });

  it('refuses a forged signature (TICKET_FORGED; on-chain InvalidSignature) and then the sender', async () => {
    const { r, store } = await receiver();
    const { batch, tickets, rand } = await batchFor(r, 'job-forged', senderKey);
    const forger = new TicketSigner(generatePrivateKey(), new TicketCodec(d.chainId, d.contracts.TicketBroker));
    batch.signatures[1] = forger.sign(tickets[1]!);
    expect(await refusal(r, 'job-forged', batch)).toBe('TICKET_FORGED');
    expect(await onChain(tickets[1]!, batch.signatures[1]!, rand)).toBe('InvalidSignature');
    expect(r.refused?.code).toBe('TICKET_FORGED');
    expect(store.pending()).toHaveLength(0);
    await store.close();
  });

  it('refuses a ticket for another recipient (TICKET_WRONG_PARAMS; on-chain it cannot be redirected: InvalidSignature)', async () => {
    const { r, store } = await receiver();
    const other = privateKeyToAccount(generatePrivateKey()).address;
    const { batch, tickets, rand } = await batchFor(r, 'job-recipient', senderKey, (t) => ({ ...t, recipient: other }));
    batch.recipient = other;
    expect(await refusal(r, 'job-recipient', batch)).toBe('TICKET_WRONG_PARAMS');
    expect(await onChain({ ...tickets[0]!, recipient: workerAccount.address }, batch.signatures[0]!, rand)).toBe('InvalidSignature');
    await store.close();
  });

  it('refuses a replayed nonce (TICKET_NONCE_REUSED; on-chain the second redemption is TicketAlreadyUsed)', async () => {
    const { r, store } = await receiver();
    const { batch, tickets, rand } = await batchFor(r, 'job-replay', senderKey, (t) => ({ ...t, senderNonce: 7n }));
    expect(await refusal(r, 'job-replay', batch)).toBe('TICKET_NONCE_REUSED');
    const wallet = createWalletClient({ chain, account: workerAccount, transport: http(anvil.rpcUrl) });
    const hash = await wallet.writeContract({ address: d.contracts.TicketBroker, abi: ticketBrokerAbi, functionName: 'redeemWinningTicket', args: [tickets[0]!, batch.signatures[0]!, rand] });
    await createPublicClient({ chain, transport: http(anvil.rpcUrl) }).waitForTransactionReceipt({ hash });
    expect(await onChain(tickets[1]!, batch.signatures[1]!, rand)).toBe('TicketAlreadyUsed');
    await store.close();
  });

  it('refuses an expired ticket (TICKET_EXPIRED; on-chain TicketExpired)', async () => {
    const { r, store } = await receiver();
    const { batch, tickets, rand } = await batchFor(r, 'job-expired', senderKey, (t) => ({ ...t, expiry: 1_000n }));
    batch.expiry = 1000;
    expect(await refusal(r, 'job-expired', batch)).toBe('TICKET_EXPIRED');
    expect(await onChain(tickets[0]!, batch.signatures[0]!, rand)).toBe('TicketExpired');
    await store.close();
  });

  it('refuses tickets a sender cannot cover (SENDER_UNDERFUNDED; on-chain InsufficientFunds)', async () => {
    const { r, store } = await receiver();
    const { batch, tickets, rand } = await batchFor(r, 'job-poor', poorKey);
    expect(await refusal(r, 'job-poor', batch)).toBe('SENDER_UNDERFUNDED');
    expect(await onChain(tickets[0]!, batch.signatures[0]!, rand)).toBe('InsufficientFunds');
    await store.close();
  });

  it('counts the winners it holds unredeemed against the sender\'s funds (SENDER_UNDERFUNDED once they are spoken for)', async () => {
    // A sender with exactly 3 face values on deposit and no reserve: the first batch's 2 winners are
    // covered; after that only 1 face value is left for the 2 winners of the next.
    const key = ANVIL_KEYS[4] as Hex;
    const wallet = createWalletClient({ chain, account: privateKeyToAccount(key), transport: http(anvil.rpcUrl) });
    const hash = await wallet.writeContract({ address: d.contracts.TicketBroker, abi: ticketBrokerAbi, functionName: 'fundDeposit', value: 3n * FACE });
    await createPublicClient({ chain, transport: http(anvil.rpcUrl) }).waitForTransactionReceipt({ hash });
    const { r, store } = await receiver();
    expect(await r.receive('job-float-1', (await batchFor(r, 'job-float-1', key)).batch)).toEqual({ tickets: 2, winners: 2 });
    expect(store.pending()).toHaveLength(2);
    const { batch } = await batchFor(r, 'job-float-2', key, (t, i) => ({ ...t, senderNonce: BigInt(200 + i) }));
    expect(await refusal(r, 'job-float-2', batch)).toBe('SENDER_UNDERFUNDED');
    await store.close();
  });

  it('refuses a second sender once paid by a first (SENDER_CHANGED)', async () => {
    const { r, store } = await receiver();
    expect((await r.receive('job-a', (await batchFor(r, 'job-a', senderKey)).batch)).tickets).toBe(2);
    const { batch } = await batchFor(r, 'job-b', ANVIL_KEYS[3] as Hex);
    expect(await refusal(r, 'job-b', batch)).toBe('SENDER_CHANGED');
    await store.close();
  });
});
