/**
 * A viewer's playback session with edge delivery: the player makes a key for this session only,
 * names its address when the session starts, and signs every receipt with it. The orchestrator
 * steers the session to one edge (or to the origin) and remembers both, so a receipt pays only the
 * edge the session was steered to, and only as much as the session could watch.
 */
import { Type, type Static } from 'typebox';

export const ViewerSessionRequestSchema = Type.Object(
  {
    playbackId: Type.String({ minLength: 1, maxLength: 64 }),
    /** Address of the session key (the private key never leaves the player). */
    viewerKey: Type.String({ pattern: '^0x[0-9a-fA-F]{40}$' }),
    /** Edges this player saw fail in this playback: not steered to again. */
    avoid: Type.Optional(Type.Array(Type.String({ pattern: '^0x[0-9a-fA-F]{40}$' }), { maxItems: 16 })),
  },
  { additionalProperties: false },
);
export type ViewerSessionRequest = Static<typeof ViewerSessionRequestSchema>;

export const ViewerSessionSchema = Type.Object({
  session: Type.String(),
  /** The edge to play from; null: play from the origin. */
  edge: Type.Union([Type.Object({ address: Type.String(), url: Type.String() }), Type.Null()]),
  /** Master playlist to load (at the edge, or the origin). */
  src: Type.String(),
  origin: Type.String({ description: 'master playlist at the origin: the fallback' }),
  segmentSigner: Type.String({ description: 'address whose signatures in RENDITION/hashes.json vouch for each segment' }),
  chainId: Type.Integer(),
  stakingManager: Type.String({ description: 'EIP-712 domain of the edge commitments on responses' }),
  /** Where the edge takes receipts (POST); absent with the origin. */
  receiptsUrl: Type.Optional(Type.String()),
  expiresAt: Type.Integer(),
});
export type ViewerSession = Static<typeof ViewerSessionSchema>;
