/**
 * Result commitments a worker signs for a job: a Merkle root over `(jobId, rendition, sha256)`
 * leaves built with @openzeppelin/merkle-tree's standard encoding, signed with EIP-712 for the
 * StakingManager, plus the slash evidence the contract checks. Byte-for-byte what
 * contracts/src/StakingManager.sol verifies (test: contracts/test-ts/onchain.test.ts).
 */
import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import { hashTypedData, type Address, type Hex } from 'viem';

/** Leaf encoding: abi.encode(string jobId, string rendition, bytes32 sha256). */
export const COMMITMENT_LEAF_ENCODING = ['string', 'string', 'bytes32'] as const;

export type CommitmentLeaf = [jobId: string, rendition: string, sha256: Hex];
export type CommitmentTree = StandardMerkleTree<CommitmentLeaf>;

export const COMMITMENT_TYPES = {
  Commitment: [
    { name: 'jobId', type: 'string' },
    { name: 'root', type: 'bytes32' },
  ],
} as const;

/** EIP-712 domain of a StakingManager deployment. */
export const stakingManagerDomain = (chainId: number, staking: Address) =>
  ({ name: 'Segmint StakingManager', version: '1', chainId, verifyingContract: staking }) as const;

/** sha256 as 0x-prefixed bytes32 (results carry bare lowercase hex). */
export const toBytes32Sha = (sha256: string): Hex => (sha256.startsWith('0x') ? sha256 : `0x${sha256}`) as Hex;

/** The Merkle tree over one job's renditions. */
export function buildCommitmentTree(jobId: string, renditions: { name: string; sha256: string }[]): CommitmentTree {
  const leaves = renditions.map((r): CommitmentLeaf => [jobId, r.name, toBytes32Sha(r.sha256)]);
  return StandardMerkleTree.of(leaves, [...COMMITMENT_LEAF_ENCODING]);
}

/**
 * The typed data a worker signs to commit to a job's result.
 * @example
 * const tree = buildCommitmentTree(job.jobId, result.renditions);
 * const signature = await account.signTypedData(commitmentTypedData(job.jobId, tree.root as Hex, chainId, staking));
 */
export function commitmentTypedData(jobId: string, root: Hex, chainId: number, staking: Address) {
  return {
    domain: stakingManagerDomain(chainId, staking),
    types: COMMITMENT_TYPES,
    primaryType: 'Commitment' as const,
    message: { jobId, root },
  };
}

export function commitmentDigest(jobId: string, root: Hex, chainId: number, staking: Address): Hex {
  return hashTypedData(commitmentTypedData(jobId, root, chainId, staking));
}

/** The `SlashEvidence` struct StakingManager.slash takes. */
export type SlashEvidence = {
  jobId: string;
  root: Hex;
  signature: Hex;
  rendition: string;
  committedHash: Hex;
  proof: Hex[];
  correctHash: Hex;
};

/**
 * Evidence that the worker's committed hash for `rendition` is wrong: its signed commitment, the
 * leaf's proof, and the hash the agreeing workers produced.
 */
export function slashEvidence(params: {
  tree: CommitmentTree;
  signature: Hex;
  rendition: string;
  correctSha256: string;
}): SlashEvidence {
  for (const [i, [jobId, rendition, committedHash]] of params.tree.entries()) {
    if (rendition !== params.rendition) continue;
    return {
      jobId,
      root: params.tree.root as Hex,
      signature: params.signature,
      rendition,
      committedHash,
      proof: params.tree.getProof(i) as Hex[],
      correctHash: toBytes32Sha(params.correctSha256),
    };
  }
  throw new RangeError(`rendition ${params.rendition} is not in the commitment`);
}
