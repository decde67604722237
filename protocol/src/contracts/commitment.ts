/**
 * Result commitments a worker signs for a job: a Merkle root over `(jobId, rendition, sha256)`
 * leaves built with @openzeppelin/merkle-tree's standard encoding, signed with EIP-712 for the
 * StakingManager, plus the slash evidence the contract checks. Byte-for-byte what
 * contracts/src/StakingManager.sol verifies (test: contracts/test-ts/onchain.test.ts).
 */
import { createHash } from 'node:crypto';
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

/** Leaf name of the encoder fingerprint: binds the worker's claimed build and settings to its result. */
export const FINGERPRINT_LEAF = '@fingerprint';
/** Leaf name of a rendition's audio elementary stream hash. */
export const audioLeafName = (rendition: string) => `${rendition}/audio`;

/**
 * Every `(name, sha256)` a worker commits to for a job: each rendition's video hash, its audio hash
 * (when it has audio), and sha256 of the encoder fingerprint. The worker signs the root of these;
 * the orchestrator rebuilds it from the result, so neither the audio nor the fingerprint can be
 * changed after the fact, and a slash can point at any one of them.
 */
export function commitmentEntries(
  renditions: readonly { name: string; sha256: string; audioSha256?: string }[],
  fingerprint: string,
): { name: string; sha256: string }[] {
  const out: { name: string; sha256: string }[] = [];
  for (const r of renditions) {
    out.push({ name: r.name, sha256: r.sha256 });
    if (r.audioSha256) out.push({ name: audioLeafName(r.name), sha256: r.audioSha256 });
  }
  out.push({ name: FINGERPRINT_LEAF, sha256: createHash('sha256').update(fingerprint).digest('hex') });
  return out;
}

/** The Merkle tree over one job's renditions (or commitmentEntries: renditions, audio and fingerprint). */
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
