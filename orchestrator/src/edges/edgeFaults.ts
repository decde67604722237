import type { Address, Hex } from 'viem';
import { ApiError, edgeCommitmentRoot, edgeCommitmentSigner, edgeJobId, toBytes32Sha, type EdgeFaultReport, type SlashEvidence } from '@segmint/protocol';
import type { Logger } from 'pino';
import type { Slasher } from '../verification/slasher.js';
import type { EdgeRegistry } from './edgeRegistry.js';
import type { SignedSegments } from './signedSegments.js';

export type FaultOutcome = { excluded: true; slashed: { tx: string } | { error: string } | null };

/** The StakingManager evidence of an edge's signed response (a one-leaf commitment: the proof is empty). */
export function edgeSlashEvidence(f: Pick<EdgeFaultReport, 'playbackId' | 'rendition' | 'uri' | 'receivedSha256' | 'edgeSignature'>, correctSha256: string): SlashEvidence {
  const jobId = edgeJobId(f.playbackId, f.uri);
  return {
    jobId,
    root: edgeCommitmentRoot(jobId, f.rendition, f.receivedSha256),
    signature: f.edgeSignature as Hex,
    rendition: f.rendition,
    committedHash: toBytes32Sha(f.receivedSha256),
    proof: [],
    correctHash: toBytes32Sha(correctSha256),
  };
}

/**
 * Judges a report that an edge served wrong bytes. Proven when the edge's own signature covers a
 * hash that differs from the orchestrator-signed one for that segment: the edge is excluded and,
 * with a verifier key and stake to take, slashed on StakingManager with the same evidence
 * (a viewer cannot frame an edge: it cannot sign for it). Anything less is 422 FAULT_NOT_PROVEN.
 */
export class EdgeFaults {
  constructor(
    private readonly o: {
      registry: EdgeRegistry;
      segments: SignedSegments;
      domain: { chainId: number; stakingManager: Address };
      excludeMs: number;
      slasher?: Slasher;
      logger: Logger;
    },
  ) {}

  async report(f: EdgeFaultReport, reporter: string): Promise<FaultOutcome> {
    const edge = f.edge.toLowerCase();
    if (!(await this.o.registry.record(edge))) throw new ApiError('EDGE_NOT_REGISTERED', `${f.edge} is not a registered edge`);
    const id = `${f.rendition}/${f.uri}`;
    const receivedAt = Date.now();
    let stream = await this.o.segments.get(f.playbackId);
    if (!stream?.byId.has(id)) stream = await this.o.segments.fresh(f.playbackId, receivedAt); // published a moment ago
    const facts = stream?.byId.get(id);
    if (!facts) throw new ApiError('FAULT_NOT_PROVEN', 'no signed segment with this playback id, rendition and file name (or no longer in the window)');
    if (facts.sha256 === f.receivedSha256 && facts.bytes === f.receivedBytes) throw new ApiError('FAULT_NOT_PROVEN', 'the bytes reported are the signed segment');
    const signer = await edgeCommitmentSigner({ ...f, sha256: f.receivedSha256 }, f.edgeSignature as Hex, this.o.domain.chainId, this.o.domain.stakingManager);
    if (signer?.toLowerCase() !== edge) throw new ApiError('FAULT_NOT_PROVEN', 'the edge signature does not cover the hash reported (not signed by this edge over these bytes)');
    return this.convict(edge, f, facts.sha256, reporter);
  }

  /** Whether `signature` is this edge's commitment over the bytes it served (slashable). */
  async signedBy(edge: string, f: Pick<EdgeFaultReport, 'playbackId' | 'rendition' | 'uri' | 'receivedSha256'>, signature: string): Promise<boolean> {
    if (!/^0x[0-9a-fA-F]{130}$/.test(signature)) return false;
    const signer = await edgeCommitmentSigner({ ...f, sha256: f.receivedSha256 }, signature as Hex, this.o.domain.chainId, this.o.domain.stakingManager);
    return signer?.toLowerCase() === edge;
  }

  /** Excludes (and slashes, when it can) an edge whose signed response is proven wrong. */
  async convict(edge: string, f: Omit<EdgeFaultReport, 'session'>, correctSha256: string, reporter: string, signed = true): Promise<FaultOutcome> {
    const evidence = edgeSlashEvidence(f, correctSha256);
    const firstTime = !(await this.o.registry.isExcluded(edge));
    await this.o.registry.exclude(edge, this.o.excludeMs, { reason: 'wrong bytes', reporter, playbackId: f.playbackId, rendition: f.rendition, uri: f.uri, correctSha256, receivedSha256: f.receivedSha256, evidence });
    await this.o.registry.count(edge, { faults: 1 });
    this.o.logger.warn({ edge, reporter, uri: f.uri }, 'edge served wrong bytes: excluded');
    if (!firstTime || !signed || !this.o.slasher) return { excluded: true, slashed: null };
    try {
      const { tx } = await this.o.slasher.slash(edge, evidence);
      return { excluded: true, slashed: { tx } };
    } catch (err) {
      // No stake (NothingToSlash) or already slashed for this segment: excluded all the same.
      const error = (err as Error).message.split('\n')[0]!;
      this.o.logger.warn({ edge, error }, 'could not slash the edge');
      return { excluded: true, slashed: { error } };
    }
  }
}
