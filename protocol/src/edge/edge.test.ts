import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { buildCommitmentTree } from '../contracts/commitment.js';
import { edgeCommitmentRoot, edgeCommitmentSigner, edgeCommitmentTypedData, edgeJobId } from './edgeCommitment.js';
import { receiptBatchId, receiptSigner, receiptTypedData } from './receipt.js';

const SHA = 'ab'.repeat(32);
const STAKING = '0x00000000000000000000000000000000000000aa' as const;

describe('edge commitments', () => {
  it('the one-leaf root is what the worker commitment tree (and StakingManager) computes', () => {
    const jobId = edgeJobId('pid', '1_3.ts');
    expect(edgeCommitmentRoot(jobId, 'low', SHA)).toBe(buildCommitmentTree(jobId, [{ name: 'low', sha256: SHA }]).root);
  });

  it('recovers the edge from its signature, and not for other bytes', async () => {
    const edge = privateKeyToAccount(generatePrivateKey());
    const s = { playbackId: 'pid', rendition: 'low', uri: '1_3.ts', sha256: SHA };
    const sig = await edge.signTypedData(edgeCommitmentTypedData(s, 31337, STAKING));
    expect(await edgeCommitmentSigner(s, sig, 31337, STAKING)).toBe(edge.address);
    expect(await edgeCommitmentSigner({ ...s, sha256: 'cd'.repeat(32) }, sig, 31337, STAKING)).not.toBe(edge.address);
  });
});

describe('receipts', () => {
  it('a receipt recovers to the session key; any changed field does not', async () => {
    const key = privateKeyToAccount(generatePrivateKey());
    const r = { session: 'session-1', edge: STAKING, playbackId: 'pid', rendition: 'low', uri: '1_3.ts', sha256: SHA, bytes: 1000, time: 1 };
    const signed = { ...r, signature: await key.signTypedData(receiptTypedData(r)) };
    expect(await receiptSigner(signed)).toBe(key.address);
    expect(await receiptSigner({ ...signed, bytes: 2000 })).not.toBe(key.address);
  });

  it('a batch id does not depend on the order of its receipts', () => {
    const a = `0x${'11'.repeat(65)}`;
    const b = `0x${'22'.repeat(65)}`;
    expect(receiptBatchId([a, b])).toBe(receiptBatchId([b, a]));
    expect(receiptBatchId([a])).not.toBe(receiptBatchId([b]));
  });
});
