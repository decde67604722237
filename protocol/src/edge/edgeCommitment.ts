/**
 * What an edge signs over every segment it serves: a StakingManager `Commitment` to a one-leaf
 * Merkle tree `(jobId, rendition, sha256 of the bytes served)`, with jobId `edge/PLAYBACK/URI`.
 * It is the very format workers commit to results in, so a viewer holding an edge's signature over
 * bytes whose hash differs from the orchestrator-signed one holds slash evidence StakingManager
 * checks as it is (contracts unchanged): the edge's signature, the leaf (proof: none, the leaf is
 * the root), and the correct hash.
 *
 * Pure (viem only): the browser player verifies these as they are.
 */
import { encodeAbiParameters, keccak256, recoverTypedDataAddress, type Address, type Hex } from 'viem';
import { Type, type Static } from 'typebox';

/** Response header carrying the edge's commitment signature. */
export const EDGE_SIGNATURE_HEADER = 'x-segmint-edge-signature';

/** The job id an edge commits to for one segment it serves (never a worker job id: those hold no '/'). */
export const edgeJobId = (playbackId: string, uri: string): string => `edge/${playbackId}/${uri}`;

/** Root of the one-leaf tree: OpenZeppelin's standard leaf, keccak256(keccak256(abi.encode(leaf))). */
export function edgeCommitmentRoot(jobId: string, rendition: string, sha256: string): Hex {
  const encoded = encodeAbiParameters([{ type: 'string' }, { type: 'string' }, { type: 'bytes32' }], [jobId, rendition, `0x${sha256.replace(/^0x/, '')}` as Hex]);
  return keccak256(keccak256(encoded));
}

const COMMITMENT_TYPES = { Commitment: [{ name: 'jobId', type: 'string' }, { name: 'root', type: 'bytes32' }] } as const;

/** Typed data of an edge's commitment (StakingManager's domain: slashable as a worker's would be). */
export function edgeCommitmentTypedData(s: { playbackId: string; rendition: string; uri: string; sha256: string }, chainId: number, stakingManager: Address) {
  const jobId = edgeJobId(s.playbackId, s.uri);
  return {
    domain: { name: 'Segmint StakingManager', version: '1', chainId, verifyingContract: stakingManager },
    types: COMMITMENT_TYPES,
    primaryType: 'Commitment' as const,
    message: { jobId, root: edgeCommitmentRoot(jobId, s.rendition, s.sha256) },
  };
}

/** Who signed an edge commitment over these bytes' hash, or null when the signature does not decode. */
export async function edgeCommitmentSigner(
  s: { playbackId: string; rendition: string; uri: string; sha256: string },
  signature: Hex,
  chainId: number,
  stakingManager: Address,
): Promise<Address | null> {
  try {
    return await recoverTypedDataAddress({ ...edgeCommitmentTypedData(s, chainId, stakingManager), signature });
  } catch {
    return null;
  }
}

/**
 * A viewer's report that an edge served wrong bytes: the orchestrator-signed record (looked up
 * again server-side, never taken from the report), the hash of what arrived and the edge's
 * signature over it.
 */
export const EdgeFaultReportSchema = Type.Object(
  {
    session: Type.String({ pattern: '^[A-Za-z0-9_-]{8,64}$' }),
    edge: Type.String({ pattern: '^0x[0-9a-fA-F]{40}$' }),
    playbackId: Type.String({ minLength: 1, maxLength: 64 }),
    rendition: Type.String({ pattern: '^[A-Za-z0-9_-]{1,32}$' }),
    uri: Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$' }),
    receivedSha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
    receivedBytes: Type.Integer({ minimum: 0, maximum: 1024 ** 3 }),
    edgeSignature: Type.String({ pattern: '^0x[0-9a-fA-F]{130}$' }),
  },
  { additionalProperties: false },
);
export type EdgeFaultReport = Static<typeof EdgeFaultReportSchema>;
