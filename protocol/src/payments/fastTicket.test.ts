import { keccak256, recoverTypedDataAddress, toHex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { isWinningTicket, recipientRandHash, ticketHash, ticketTypedData, winProbability, type Ticket } from '../contracts/ticket.js';
import { TicketCodec, TicketSigner, TicketVerifier } from './fastTicket.js';
import { nobleBackend, secp256k1Backend } from './secp256k1Backend.js';
import { ticketEV } from './payment.js';

const key = keccak256(toHex('segmint fastTicket test sender'));
const account = privateKeyToAccount(key);
const broker = '0x5FbDB2315678afecb367f032d93F642f64180aa3';
const codec = new TicketCodec(31337, broker);
const signer = new TicketSigner(key, codec);
const ticket = (i: number, over: Partial<Ticket> = {}): Ticket => ({
  recipient: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
  sender: account.address,
  faceValue: 10n ** 16n,
  winProb: winProbability(1n, 100n),
  senderNonce: BigInt(i),
  recipientRandHash: recipientRandHash(777n),
  expiry: 2_000_000_000n,
  ...over,
});

describe('fast ticket path', () => {
  it('digests and signs exactly as viem does', async () => {
    for (let i = 0; i < 20; i++) {
      const t = ticket(i, { faceValue: BigInt(i) * 123456789n, expiry: BigInt(1_700_000_000 + i) });
      expect(codec.digest(t)).toBe(ticketHash(t, 31337, broker));
      const sig = signer.sign(t);
      expect(sig).toBe(await account.signTypedData(ticketTypedData(t, 31337, broker)));
      expect(await recoverTypedDataAddress({ ...ticketTypedData(t, 31337, broker), signature: sig })).toBe(account.address);
    }
  });

  it('uses libsecp256k1 on this platform, and it signs byte for byte as @noble/curves does', () => {
    expect(secp256k1Backend.name).toBe('libsecp256k1');
    const pure = new TicketSigner(key, codec, nobleBackend);
    expect(pure.address).toBe(signer.address);
    for (let i = 0; i < 20; i++) expect(signer.sign(ticket(i))).toBe(pure.sign(ticket(i)));
  });

  it.each([
    ['libsecp256k1', secp256k1Backend],
    ['@noble/curves', nobleBackend],
  ])('verifies the sender\'s tickets and refuses forged, altered, high-s and wrong-v signatures (%s)', (_, curve) => {
    const v = new TicketVerifier(account.address, codec, curve);
    for (let i = 0; i < 10; i++) expect(v.verify(ticket(i), signer.sign(ticket(i)))).toBe(true);
    const t = ticket(50);
    const sig = signer.sign(t);
    const other = new TicketSigner(keccak256(toHex('someone else')), codec);
    expect(v.verify(t, other.sign({ ...t }))).toBe(false); // forged: signed by another key
    expect(v.verify({ ...t, faceValue: t.faceValue + 1n }, sig)).toBe(false); // altered after signing
    expect(v.verify({ ...t, sender: other.address }, other.sign({ ...t, sender: other.address }))).toBe(false); // another sender
    const flippedV = `${sig.slice(0, -2)}${sig.endsWith('1b') ? '1c' : '1b'}` as `0x${string}`;
    expect(v.verify(t, flippedV)).toBe(false);
    // the malleated twin (s' = n − s, v flipped) is valid ECDSA but the broker refuses high s
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
    const s = BigInt(`0x${sig.slice(66, 130)}`);
    const twin = `${sig.slice(0, 66)}${(n - s).toString(16).padStart(64, '0')}${sig.endsWith('1b') ? '1c' : '1b'}` as `0x${string}`;
    expect(v.verify(t, twin)).toBe(false);
    expect(v.verify(t, '0x1234')).toBe(false);
    expect(v.verify(t, `0x${'zz'.repeat(65)}`)).toBe(false);
    expect(v.verify(t, `0x${'00'.repeat(65)}`)).toBe(false); // r = s = 0: recovers to no point
    expect(v.verify(t, sig)).toBe(true); // and the refusals did not disturb the learnt key
  });

  it('a fresh verifier refuses a first ticket that is not the sender\'s (the key is learnt only from a valid one)', () => {
    const other = new TicketSigner(keccak256(toHex('someone else')), codec);
    const v = new TicketVerifier(account.address, codec);
    expect(v.verify(ticket(1), other.sign(ticket(1)))).toBe(false);
    expect(v.verify(ticket(1), signer.sign(ticket(1)))).toBe(true);
  });

  it('10,000 tickets at winProb 1/100 win within the binomial 99.9 % interval (seeded)', () => {
    const winProb = winProbability(1n, 100n);
    let wins = 0;
    for (let i = 0; i < 10_000; i++) {
      const rand = BigInt(keccak256(toHex(`rand ${i}`)));
      const t = ticket(i, { winProb, recipientRandHash: recipientRandHash(rand) });
      if (isWinningTicket(signer.sign(t), rand, winProb)) wins++;
    }
    // Binomial(10,000, 0.01): mean 100, sd 9.95; 99.9 % two-sided ≈ mean ± 3.29 sd → [68, 133].
    expect(wins).toBeGreaterThanOrEqual(68);
    expect(wins).toBeLessThanOrEqual(133);
  }, 120_000);

  it('EV is faceValue × winProb / 2^256 rounded down', () => {
    expect(ticketEV(10n ** 16n, winProbability(1n, 100n))).toBe(10n ** 14n - 1n);
    expect(ticketEV(1000n, 1n << 255n)).toBe(500n);
  });
});
