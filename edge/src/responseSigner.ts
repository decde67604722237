import { createHash } from 'node:crypto';
import type { Address, Hex } from 'viem';
import type { PrivateKeyAccount } from 'viem/accounts';
import { edgeCommitmentTypedData } from '@segmint/protocol';

const CACHE_MAX = 10_000;

/**
 * Signs the edge's commitment over every segment it serves (protocol/src/edge/edgeCommitment.ts):
 * what a viewer reports, and StakingManager slashes, when the bytes are wrong. An honest edge has
 * nothing to fear from it; an edge that will not sign is simply not used by players. Cached per
 * (segment, hash): one signature per segment however many viewers.
 */
export class ResponseSigner {
  private readonly cache = new Map<string, Hex>();

  constructor(private readonly account: PrivateKeyAccount, private readonly domain: { chainId: number; stakingManager: Address }) {}

  async sign(playbackId: string, rendition: string, uri: string, body: Buffer): Promise<Hex> {
    const sha256 = createHash('sha256').update(body).digest('hex');
    const key = `${playbackId}/${rendition}/${uri}/${sha256}`;
    let sig = this.cache.get(key);
    if (!sig) {
      sig = await this.account.signTypedData(edgeCommitmentTypedData({ playbackId, rendition, uri, sha256 }, this.domain.chainId, this.domain.stakingManager));
      if (this.cache.size >= CACHE_MAX) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(key, sig);
    }
    return sig;
  }
}
