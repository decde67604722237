import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from '@segmint/protocol';
import type { Pipeline } from '../pipeline.js';
import type { Stream } from '../streams/streamStore.js';
import { peekClaims, PlaybackJwtError, verifyPlaybackJwt } from './playbackJwt.js';
import type { SigningKeyStore } from './signingKeyStore.js';
import type { TokenGate } from './tokenGate.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The checked playback JWT of an HLS request on a `jwt` stream. */
    playbackJwt?: string;
  }
}

const CACHE_MS = 5_000;

/** The token of an HLS request: `?jwt=` (what players can carry) or a `Livepeer-Jwt` header. */
function tokenOf(req: FastifyRequest): string | undefined {
  const q = (req.query as { jwt?: unknown } | undefined)?.jwt;
  if (typeof q === 'string' && q) return q;
  const h = req.headers['livepeer-jwt'];
  return typeof h === 'string' && h ? h : undefined;
}

/**
 * Playback access control on every `/hls/:playbackId/…` request (master, media playlists and each
 * segment): a stream whose playbackPolicy is `jwt` plays only with a JWT signed by an enabled
 * signing key of the stream's owner, for this playback id, not expired; a `token` stream only with
 * a playback token from a wallet sign-in (tokenGate.ts). Playlists served to a
 * token holder carry the token on every URI, so players need it only on the first URL.
 * Registered on the root instance before the HLS routes; checks are cached for 5 s.
 */
export function gatePlayback(app: FastifyInstance, p: Pipeline, signingKeys: SigningKeyStore, tokenGate: TokenGate): void {
  const streams = new Map<string, { stream: Stream | null; until: number }>();
  const tokens = new Map<string, number>(); // token+playbackId → checked until
  const streamOf = async (playbackId: string) => {
    let hit = streams.get(playbackId);
    if (!hit || hit.until < Date.now()) {
      hit = { stream: playbackId.length <= 64 ? await p.streams.getByPlaybackId(playbackId) : null, until: Date.now() + CACHE_MS };
      if (streams.size > 10_000) streams.clear();
      streams.set(playbackId, hit);
    }
    return hit.stream;
  };

  app.addHook('onRequest', async (req) => {
    if (!req.routeOptions.url?.startsWith('/hls/:playbackId')) return;
    const playbackId = (req.params as { playbackId: string }).playbackId;
    const stream = await streamOf(playbackId);
    if (!stream || stream.playbackPolicy.type === 'public') return;
    const token = tokenOf(req);
    if (!token) throw new ApiError('PLAYBACK_DENIED', 'this stream plays only with a playback JWT: add ?jwt=TOKEN or a Livepeer-Jwt header');
    if (stream.playbackPolicy.type === 'token') {
      if (!tokenGate.check(token, playbackId)) throw new ApiError('PLAYBACK_DENIED', 'this stream is token-gated: sign in with a wallet at /api/playback/PLAYBACK_ID/siwe for a playback token');
      req.playbackJwt = token;
      return;
    }
    const cacheKey = `${playbackId} ${token}`;
    if ((tokens.get(cacheKey) ?? 0) < Date.now()) {
      try {
        const claims = peekClaims(token);
        const key = stream.ownerId ? await signingKeys.byPublicKey(stream.ownerId, claims.pub) : null;
        if (!key) throw new PlaybackJwtError("JWT is not signed by an enabled signing key of this stream's owner");
        verifyPlaybackJwt(token, { publicKey: key.publicKey, playbackId });
        const exp = typeof claims.exp === 'number' ? claims.exp * 1000 : Infinity;
        if (tokens.size > 10_000) tokens.clear();
        tokens.set(cacheKey, Math.min(Date.now() + CACHE_MS, exp));
      } catch (err) {
        if (err instanceof PlaybackJwtError) throw new ApiError('PLAYBACK_DENIED', err.message);
        throw err;
      }
    }
    req.playbackJwt = token;
  });

  app.addHook('onSend', async (req, _reply, payload) => {
    const token = req.playbackJwt;
    if (!token || typeof payload !== 'string' || !req.routeOptions.url?.endsWith('/index.m3u8')) return payload;
    const q = `jwt=${encodeURIComponent(token)}`;
    return payload
      .split('\n')
      .map((line) => (line && !line.startsWith('#') ? `${line}${line.includes('?') ? '&' : '?'}${q}` : line))
      .join('\n');
  });
}
