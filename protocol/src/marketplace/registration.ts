import { keccak256, recoverTypedDataAddress, stringToHex, type Address, type Hex } from 'viem';
import { Type, type Static } from 'typebox';

/** What a worker can do, as it measured on its own machine. */
export const CapabilitiesSchema = Type.Object(
  {
    /** Encoders that passed a trial encode (not just `-encoders` listing), e.g. ["libx264"]. */
    encoders: Type.Array(Type.String({ maxLength: 32 }), { maxItems: 16 }),
    /** Segments it transcodes side by side. */
    maxConcurrent: Type.Integer({ minimum: 1, maximum: 256 }),
    cores: Type.Integer({ minimum: 1, maximum: 1024 }),
    /** Tallest output it accepts. */
    maxHeight: Type.Integer({ minimum: 144, maximum: 4320 }),
    /** ffmpeg build + encoder settings: spot checks compare only equal fingerprints. */
    fingerprint: Type.String({ maxLength: 512 }),
  },
  { additionalProperties: false },
);
export type Capabilities = Static<typeof CapabilitiesSchema>;

/** A worker's signed offer to work for an orchestrator. */
export const RegistrationSchema = Type.Object(
  {
    worker: Type.String({ pattern: '^0x[0-9a-fA-F]{40}$' }),
    /** Ask in wei per pixel (decimal string: money is bigint end to end). */
    pricePerPixel: Type.String({ pattern: '^[0-9]{1,40}$' }),
    capabilities: CapabilitiesSchema,
    /** Strictly increasing per worker: a replayed registration is refused. */
    nonce: Type.String({ pattern: '^[0-9]{1,20}$' }),
    signature: Type.String({ pattern: '^0x[0-9a-fA-F]{130}$' }),
  },
  { additionalProperties: false },
);
export type Registration = Static<typeof RegistrationSchema>;

export const REGISTRATION_TYPES = {
  Registration: [
    { name: 'worker', type: 'address' },
    { name: 'orchestrator', type: 'string' },
    { name: 'pricePerPixel', type: 'uint256' },
    { name: 'capabilitiesHash', type: 'bytes32' },
    { name: 'nonce', type: 'uint64' },
  ],
} as const;

/** EIP-712 domain of off-chain marketplace messages (no contract: chainId only binds the network). */
export const marketplaceDomain = (chainId: number) => ({ name: 'Segmint Marketplace', version: '1', chainId }) as const;

/** keccak256 of the capabilities as canonical JSON (keys sorted), as stored on-chain too. */
export function capabilitiesHash(c: Capabilities): Hex {
  const canonical = JSON.stringify(c, Object.keys(c).sort());
  return keccak256(stringToHex(canonical));
}

/**
 * The typed data a worker signs to register. `orchestrator` is the orchestrator's base URL, so a
 * registration for one orchestrator cannot be replayed to another.
 */
export function registrationTypedData(r: Omit<Registration, 'signature'>, orchestrator: string, chainId: number) {
  return {
    domain: marketplaceDomain(chainId),
    types: REGISTRATION_TYPES,
    primaryType: 'Registration' as const,
    message: {
      worker: r.worker as Address,
      orchestrator,
      pricePerPixel: BigInt(r.pricePerPixel),
      capabilitiesHash: capabilitiesHash(r.capabilities),
      nonce: BigInt(r.nonce),
    },
  };
}

/** The address that signed a registration (compare with `worker`). */
export function registrationSigner(r: Registration, orchestrator: string, chainId: number): Promise<Address> {
  return recoverTypedDataAddress({ ...registrationTypedData(r, orchestrator, chainId), signature: r.signature as Hex });
}

/** `GET /marketplace/info`: what a worker needs before it signs a registration. */
export const MarketplaceInfoSchema = Type.Object({
  /** Base URL to sign into the registration (binds it to this orchestrator). */
  orchestrator: Type.String(),
  chainId: Type.Integer(),
  /** StakingManager: the EIP-712 verifying contract of result commitments (zero address: no chain). */
  stakingManager: Type.String({ pattern: '^0x[0-9a-fA-F]{40}$' }),
  /** Wei; decimal strings (money is bigint end to end). */
  minStake: Type.String(),
  maxPricePerPixel: Type.String(),
  heartbeatIntervalMs: Type.Integer(),
});
export type MarketplaceInfo = Static<typeof MarketplaceInfoSchema>;

/**
 * Where and as whom a worker reads its own job queue: a Redis ACL user of its own, whose keys are
 * its queue's alone. The password is new at each registration (the previous one stops working for
 * new connections).
 */
export const WorkerRedisSchema = Type.Object({
  /** Redis to connect to, without credentials (redis:// or rediss://, may name a db). */
  url: Type.String(),
  username: Type.String(),
  password: Type.String(),
  /** Key prefix of the orchestrator's queues (BullMQ `prefix`). */
  prefix: Type.String(),
  /** The URL names a node of a Redis Cluster (connect with a cluster client). Absent: one server. */
  cluster: Type.Optional(Type.Boolean()),
});
export type WorkerRedis = Static<typeof WorkerRedisSchema>;

/** `POST /marketplace/register` answer: the token heartbeats carry, and the worker's Redis credentials. */
export const RegisteredSchema = Type.Object({
  worker: Type.String(),
  heartbeatToken: Type.String(),
  heartbeatIntervalMs: Type.Integer(),
  redis: WorkerRedisSchema,
});
export type Registered = Static<typeof RegisteredSchema>;
