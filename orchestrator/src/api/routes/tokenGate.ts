import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from 'typebox';
import { ApiError } from '@segmint/protocol';
import { TokenGateError, type TokenGate } from '../../access/tokenGate.js';
import type { Pipeline } from '../../pipeline.js';
import { ErrorSchema } from '../schemas.js';

const Params = Type.Object({ playbackId: Type.String({ maxLength: 64 }) });
const SignInBody = Type.Object(
  {
    message: Type.String({ minLength: 1, maxLength: 4000, description: 'EIP-4361 message: uri naming the playback id, the nonce from GET, this chain id' }),
    signature: Type.String({ pattern: '^0x[0-9a-fA-F]{130,}$', maxLength: 4000 }),
  },
  { additionalProperties: false },
);

/**
 * Token-gated playback (Segmint's addition to Studio's access control): `GET …/siwe` gives a nonce
 * and what to sign; `POST …/siwe` with the signed message gives a playback token for `?jwt=`.
 * Public: these are the viewer's calls. CORS-open.
 */
export function tokenGateRoutes(p: Pipeline, gate: TokenGate, chainId: number): FastifyPluginAsync {
  const gatedStream = async (playbackId: string) => {
    const stream = await p.streams.getByPlaybackId(playbackId);
    if (!stream) throw new ApiError('PLAYBACK_NOT_FOUND', `no stream with playback id ${playbackId}`);
    if (stream.playbackPolicy.type !== 'token') throw new ApiError('VALIDATION_FAILED', 'this stream is not token-gated');
    return { stream, policy: stream.playbackPolicy.token };
  };
  return async (app) => {
    app.addHook('onSend', async (_req, reply) => {
      reply.header('access-control-allow-origin', '*');
    });
    const tags = ['access-control'];
    app.get<{ Params: Static<typeof Params> }>(
      '/playback/:playbackId/siwe',
      {
        schema: {
          tags, summary: 'What a viewer signs to prove it holds the tokens (Sign-In with Ethereum)', params: Params,
          response: {
            200: Type.Object({ nonce: Type.String(), chainId: Type.Number(), domain: Type.String(), uri: Type.String(), statement: Type.String(), token: Type.Object({ standard: Type.String(), contract: Type.String(), minBalance: Type.String() }) }),
            400: ErrorSchema, 404: ErrorSchema,
          },
        },
      },
      async (req) => {
        const { policy } = await gatedStream(req.params.playbackId);
        return {
          nonce: await gate.nonce(req.params.playbackId),
          chainId,
          domain: new URL(p.config.publicUrl).host,
          uri: `${p.config.publicUrl}/watch/${req.params.playbackId}`,
          statement: `Play ${req.params.playbackId} with the tokens of this wallet`,
          token: policy,
        };
      },
    );
    app.post<{ Params: Static<typeof Params>; Body: Static<typeof SignInBody> }>(
      '/playback/:playbackId/siwe',
      {
        schema: {
          tags, summary: 'Trade a signed SIWE message for a playback token (1 h) to send as ?jwt=', params: Params, body: SignInBody,
          response: { 200: Type.Object({ token: Type.String(), address: Type.String(), expiresAt: Type.Number() }), 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema, 503: ErrorSchema },
        },
      },
      async (req) => {
        const { policy } = await gatedStream(req.params.playbackId);
        try {
          return await gate.signIn({ playbackId: req.params.playbackId, message: req.body.message, signature: req.body.signature as `0x${string}`, policy, domain: new URL(p.config.publicUrl).host });
        } catch (err) {
          if (!(err instanceof TokenGateError)) throw err;
          if (err.kind === 'insufficient') throw new ApiError('INSUFFICIENT_TOKENS', err.message);
          if (err.kind === 'unavailable') throw new ApiError('UNAVAILABLE', err.message);
          throw new ApiError('PLAYBACK_DENIED', err.message);
        }
      },
    );
  };
}
