/**
 * An edge node's signed offer to relay an orchestrator's streams: its address (identity, stake and
 * payee, like a worker's), the base URL viewers reach it at, and how many viewers it takes.
 * Signed with EIP-712 in the marketplace domain, bound to the orchestrator's URL; the nonce only
 * goes up, so a replayed registration is refused.
 */
import { recoverTypedDataAddress, type Address, type Hex } from 'viem';
import { Type, type Static } from 'typebox';
import { marketplaceDomain } from '../marketplace/registration.js';

export const EdgeRegistrationSchema = Type.Object(
  {
    edge: Type.String({ pattern: '^0x[0-9a-fA-F]{40}$' }),
    /** Where viewers fetch `/hls/...` from this edge (http or https, no trailing slash). */
    url: Type.String({ pattern: '^https?://[^\\s/?#]+(/[^\\s?#]*[^\\s/?#])?$', maxLength: 256 }),
    /** Viewer sessions it serves at once; steering counts load against it. */
    maxViewers: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
    nonce: Type.String({ pattern: '^[0-9]{1,20}$' }),
    signature: Type.String({ pattern: '^0x[0-9a-fA-F]{130}$' }),
  },
  { additionalProperties: false },
);
export type EdgeRegistration = Static<typeof EdgeRegistrationSchema>;

export const EDGE_REGISTRATION_TYPES = {
  EdgeRegistration: [
    { name: 'edge', type: 'address' },
    { name: 'orchestrator', type: 'string' },
    { name: 'url', type: 'string' },
    { name: 'maxViewers', type: 'uint32' },
    { name: 'nonce', type: 'uint64' },
  ],
} as const;

/** The typed data an edge signs to register with the orchestrator at base URL `orchestrator`. */
export function edgeRegistrationTypedData(r: Omit<EdgeRegistration, 'signature'>, orchestrator: string, chainId: number) {
  return {
    domain: marketplaceDomain(chainId),
    types: EDGE_REGISTRATION_TYPES,
    primaryType: 'EdgeRegistration' as const,
    message: { edge: r.edge as Address, orchestrator, url: r.url, maxViewers: r.maxViewers, nonce: BigInt(r.nonce) },
  };
}

export function edgeRegistrationSigner(r: EdgeRegistration, orchestrator: string, chainId: number): Promise<Address> {
  return recoverTypedDataAddress({ ...edgeRegistrationTypedData(r, orchestrator, chainId), signature: r.signature as Hex });
}

/** `POST /edges/register` answer: what the edge needs to heartbeat, sign its responses and get paid. */
export const EdgeRegisteredSchema = Type.Object({
  edge: Type.String(),
  /** Bearer token of heartbeats and receipt submissions. */
  token: Type.String(),
  heartbeatIntervalMs: Type.Integer(),
  /** Wei per verified byte the operator pays (decimal string). */
  pricePerByte: Type.String(),
  /** The domain of the commitments an edge signs over every response (slashable on StakingManager). */
  chainId: Type.Integer(),
  stakingManager: Type.String(),
});
export type EdgeRegistered = Static<typeof EdgeRegisteredSchema>;

export const EdgeHeartbeatSchema = Type.Object({ edge: Type.String({ pattern: '^0x[0-9a-fA-F]{40}$' }) }, { additionalProperties: false });
