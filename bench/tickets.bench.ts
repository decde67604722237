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

const seconds = Number(process.argv[process.argv.indexOf('--seconds') + 1]) || 1.5;
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

async function rate(name: string, fn: (i: number) => unknown | Promise<unknown>): Promise<number> {
  for (let i = 0; i < 20; i++) await fn(i); // warm up
  let n = 0;
  const t0 = performance.now();
  const until = t0 + seconds * 1000;
  while (performance.now() < until) {
    for (let k = 0; k < 10; k++) await fn(n++);
  }
  const perSec = n / ((performance.now() - t0) / 1000);
  console.log(`${name.padEnd(44)} ${perSec.toFixed(0).padStart(8)} /s`);
  return perSec;
}

const N = 512;
const tickets = Array.from({ length: N }, (_, i) => ticket(i));
const sigs: Hex[] = await Promise.all(tickets.map((t) => account.signTypedData(ticketTypedData(t, chainId, broker))));
for (let i = 0; i < N; i++) if (signer.sign(tickets[i]!) !== sigs[i]) throw new Error('fast signature differs from viem');
const verifier = new TicketVerifier(account.address, codec);

console.log(`tickets per second, one core (node ${process.version}, ${seconds} s each)`);
const viemSign = await rate('sign   viem signTypedData', (i) => account.signTypedData(ticketTypedData(tickets[i % N]!, chainId, broker)));
const fastSign = await rate('sign   segmint TicketSigner', (i) => signer.sign(tickets[i % N]!));
const viemVerify = await rate('verify viem recoverTypedDataAddress', async (i) => {
  const a = await recoverTypedDataAddress({ ...ticketTypedData(tickets[i % N]!, chainId, broker), signature: sigs[i % N]! });
  if (a !== account.address) throw new Error('bad recover');
});
const fastVerify = await rate('verify segmint TicketVerifier', (i) => {
  if (!verifier.verify(tickets[i % N]!, sigs[i % N]!)) throw new Error('bad verify');
});
console.log(`ticket sign speedup vs viem: ${(fastSign / viemSign).toFixed(1)}x`);
console.log(`ticket verify speedup vs viem: ${(fastVerify / viemVerify).toFixed(1)}x`);
