import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import { buildCommitmentTree, slashEvidence } from './commitment.js';

const renditions = [
  { name: '720p', sha256: '1'.repeat(64) },
  { name: '360p', sha256: `0x${'2'.repeat(64)}` },
];

describe('commitment codec', () => {
  it('builds leaves (jobId, rendition, sha256) with bare or 0x-prefixed hashes', () => {
    const tree = buildCommitmentTree('job-1', renditions);
    expect([...tree.entries()].map(([, v]) => v)).toEqual(
      expect.arrayContaining([
        ['job-1', '720p', `0x${'1'.repeat(64)}`],
        ['job-1', '360p', `0x${'2'.repeat(64)}`],
      ]),
    );
    const reference = StandardMerkleTree.of(
      [
        ['job-1', '720p', `0x${'1'.repeat(64)}`],
        ['job-1', '360p', `0x${'2'.repeat(64)}`],
      ],
      ['string', 'string', 'bytes32'],
    );
    expect(tree.root).toBe(reference.root);
  });

  it('builds evidence whose proof verifies for the disputed leaf', () => {
    const tree = buildCommitmentTree('job-1', renditions);
    const ev = slashEvidence({ tree, signature: '0x00', rendition: '360p', correctSha256: '3'.repeat(64) });
    expect(ev).toMatchObject({ jobId: 'job-1', rendition: '360p', committedHash: `0x${'2'.repeat(64)}`, correctHash: `0x${'3'.repeat(64)}` });
    expect(StandardMerkleTree.verify(tree.root, ['string', 'string', 'bytes32'], ['job-1', '360p', ev.committedHash], ev.proof)).toBe(true);
  });

  it('refuses to build evidence for a rendition that is not committed', () => {
    const tree = buildCommitmentTree('job-1', renditions);
    expect(() => slashEvidence({ tree, signature: '0x00', rendition: '1080p', correctSha256: '3'.repeat(64) })).toThrow(RangeError);
  });
});
