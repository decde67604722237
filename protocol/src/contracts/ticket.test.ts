import { keccak256, concat, toHex } from 'viem';
import { isWinningTicket, recipientRandHash, winProbability } from './ticket.js';

describe('ticket codec', () => {
  it('hashes the recipient secret as one 32-byte word', () => {
    expect(recipientRandHash(1n)).toBe(keccak256(toHex(1n, { size: 32 })));
  });

  it('wins exactly when keccak256(sig ‖ rand) is below winProb', () => {
    const sig = `0x${'ab'.repeat(65)}` as const;
    const h = BigInt(keccak256(concat([sig, toHex(9n, { size: 32 })])));
    expect(isWinningTicket(sig, 9n, h + 1n)).toBe(true);
    expect(isWinningTicket(sig, 9n, h)).toBe(false);
  });

  it('turns a probability into winProb and refuses impossible ones', () => {
    expect(winProbability(0n, 5n)).toBe(0n);
    expect(winProbability(1n, 1n)).toBe((1n << 256n) - 1n);
    expect(winProbability(1n, 2n)).toBe(((1n << 256n) - 1n) / 2n);
    expect(() => winProbability(2n, 1n)).toThrow(RangeError);
    expect(() => winProbability(1n, 0n)).toThrow(RangeError);
  });
});
