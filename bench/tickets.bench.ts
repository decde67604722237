/**
 * Tickets signed and verified per second on one core: viem's generic EIP-712 path
 * (`signTypedData` / `recoverTypedDataAddress`) against Segmint's fast path (protocol/src/payments/
 * fastTicket.ts), on the same tickets in the same run. Last line: the verify speedup.
 *
 *   npm run bench:tickets [-- --seconds 2]
 */
import { recoverTypedDataAddress, type Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { recipientRandHash, ticketTypedData, winProbability, type Ticket } from '../protocol/src/contracts/ticket.js';
import { TicketCodec, TicketSigner, TicketVerifier } from '../protocol/src/payments/fastTicket.js';
import { secp256k1Backend } from '../protocol/src/payments/secp256k1Backend.js';

const seconds = Number(process.argv[process.argv.indexOf('--seconds') + 1]) || 4;
const key = generatePrivateKey();
const account = privateKeyToAccount(key);
const broker = '0x5FbDB2315678afecb367f032d93F642f64180aa3';
const chainId = 31337;
const codec = new TicketCodec(chainId, broker);
const signer = new TicketSigner(key, codec);
const ticket = (i: number): Ticket => ({
  recipient: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
  sender: account.address,
  faceValue: 10n ** 16n + BigInt(i),
  winProb: winProbability(1n, 100n),
  senderNonce: BigInt(i),
  recipientRandHash: recipientRandHash(BigInt(i) + 12345n),
  expiry: 2_000_000_000n,
});

/** Ops per second of `fn` over `ms`. */
async function burst(fn: (i: number) => unknown | Promise<unknown>, ms: number, from: number): Promise<number> {
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < ms) for (let k = 0; k < 5; k++) await fn(from + n++);
  return n / ((performance.now() - t0) / 1000);
}

/**
 * Rates of two ways of doing the same thing, interleaved in short rounds (the machine is shared:
 * load that comes and goes then hits both alike); median of the rounds.
 */
async function compare(what: string, a: [string, (i: number) => unknown], b: [string, (i: number) => unknown]): Promise<[number, number]> {
  for (let i = 0; i < 20; i++) {
    await a[1](i);
    await b[1](i);
  }
  const rounds = Math.max(4, Math.round((seconds * 1000) / 250));
  const ra: number[] = [];
  const rb: number[] = [];
  for (let r = 0; r < rounds; r++) {
    ra.push(await burst(a[1], 250, r * 1000));
    rb.push(await burst(b[1], 250, r * 1000));
  }
  const median = (x: number[]) => x.sort((p, q) => p - q)[Math.floor(x.length / 2)]!;
  const [ma, mb] = [median(ra), median(rb)];
  console.log(`${what} ${a[0].padEnd(36)} ${ma.toFixed(0).padStart(8)} /s`);
  console.log(`${what} ${b[0].padEnd(36)} ${mb.toFixed(0).padStart(8)} /s`);
  return [ma, mb];
}

const N = 512;
const tickets = Array.from({ length: N }, (_, i) => ticket(i));
const sigs: Hex[] = await Promise.all(tickets.map((t) => account.signTypedData(ticketTypedData(t, chainId, broker))));
for (let i = 0; i < N; i++) if (signer.sign(tickets[i]!) !== sigs[i]) throw new Error('fast signature differs from viem');
const verifier = new TicketVerifier(account.address, codec);

console.log(`tickets per second, one core (node ${process.version}, curve ${secp256k1Backend.name}; ${seconds} s per pair, interleaved 250 ms rounds, median)`);
const [viemSign, fastSign] = await compare(
  'sign  ',
  ['viem signTypedData', (i) => account.signTypedData(ticketTypedData(tickets[i % N]!, chainId, broker))],
  ['segmint TicketSigner', (i) => signer.sign(tickets[i % N]!)],
);
const [viemVerify, fastVerify] = await compare(
  'verify',
  ['viem recoverTypedDataAddress', async (i) => {
    const a = await recoverTypedDataAddress({ ...ticketTypedData(tickets[i % N]!, chainId, broker), signature: sigs[i % N]! });
    if (a !== account.address) throw new Error('bad recover');
  }],
  ['segmint TicketVerifier', (i) => {
    if (!verifier.verify(tickets[i % N]!, sigs[i % N]!)) throw new Error('bad verify');
  }],
);
console.log(`ticket sign speedup vs viem: ${(fastSign / viemSign).toFixed(1)}x`);
console.log(`ticket verify speedup vs viem: ${(fastVerify / viemVerify).toFixed(1)}x`);
