import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { capabilitiesHash, registrationSigner, registrationTypedData, type Registration } from '@segmint/protocol';

const caps = { encoders: ['libx264'], maxConcurrent: 2, cores: 2, maxHeight: 1080, fingerprint: 'ffmpeg/x;libx264' };
async function signed(orchestrator = 'http://o', chainId = 31337) {
  const account = privateKeyToAccount(generatePrivateKey());
  const base = { worker: account.address, pricePerPixel: '1000', capabilities: caps, nonce: '1' };
  const signature = await account.signTypedData(registrationTypedData(base, orchestrator, chainId));
  return { account, reg: { ...base, signature } as Registration };
}

describe('worker registration (EIP-712)', () => {
  it('recovers the worker that signed it', async () => {
    const { account, reg } = await signed();
    expect(await registrationSigner(reg, 'http://o', 31337)).toBe(account.address);
  });
  it('does not recover the worker when any field, the orchestrator or the chain differs', async () => {
    const { account, reg } = await signed();
    expect(await registrationSigner({ ...reg, pricePerPixel: '1' }, 'http://o', 31337)).not.toBe(account.address);
    expect(await registrationSigner({ ...reg, capabilities: { ...caps, maxConcurrent: 9 } }, 'http://o', 31337)).not.toBe(account.address);
    expect(await registrationSigner(reg, 'http://other', 31337)).not.toBe(account.address);
    expect(await registrationSigner(reg, 'http://o', 1)).not.toBe(account.address);
  });
  it('hashes capabilities independently of key order', () => {
    const reordered = { fingerprint: caps.fingerprint, cores: 2, maxHeight: 1080, maxConcurrent: 2, encoders: ['libx264'] };
    expect(capabilitiesHash(reordered)).toBe(capabilitiesHash(caps));
  });
});
