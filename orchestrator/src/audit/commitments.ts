import { recoverTypedDataAddress, type Address, type Hex } from 'viem';
import { ApiError, buildCommitmentTree, commitmentEntries, commitmentTypedData, type TranscodeResult } from '@segmint/protocol';

export type CommitmentDomain = { chainId: number; stakingManager: Address };

/**
 * Checks a result's commitment: its root is the Merkle root of the renditions it reports (video and
 * audio hashes) and of its encoder fingerprint, and the worker signed it (EIP-712 for StakingManager). Returns the tree, whose proofs go to the audit
 * trail; refuses with COMMITMENT_INVALID otherwise (the result is treated as a failure).
 */
export async function verifyCommitment(jobId: string, worker: string, result: TranscodeResult, domain: CommitmentDomain) {
  const tree = buildCommitmentTree(jobId, commitmentEntries(result.renditions, result.encoderFingerprint));
  if (tree.root !== result.commitment.root) {
    throw new ApiError('COMMITMENT_INVALID', `commitment root ${result.commitment.root} is not the root of the reported renditions (${tree.root})`);
  }
  let signer: Address;
  try {
    signer = await recoverTypedDataAddress({
      ...commitmentTypedData(jobId, tree.root as Hex, domain.chainId, domain.stakingManager),
      signature: result.commitment.signature as Hex,
    });
  } catch {
    throw new ApiError('COMMITMENT_INVALID', 'commitment signature does not decode');
  }
  if (signer.toLowerCase() !== worker.toLowerCase()) throw new ApiError('COMMITMENT_INVALID', `commitment signed by ${signer}, not by ${worker}`);
  return tree;
}
