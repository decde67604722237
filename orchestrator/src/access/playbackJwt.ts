import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';

/** Claims of a playback JWT, as Livepeer's SDK signs them (`signAccessJwt`). */
export type PlaybackClaims = { sub: string; pub: string; action?: string; iss?: string; exp?: number; iat?: number; video?: string };

/** Why a token was refused (the message an integrator sees). */
export class PlaybackJwtError extends Error {
  override name = 'PlaybackJwtError';
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

/**
 * Signs a playback JWT (ES256) with a signing key's private key (base64 PEM, as
 * `POST /api/access-control/signing-key` returns it). For tests and integrators' servers.
 *
 * @example signPlaybackJwt({ privateKey, publicKey, playbackId, expiresInSec: 3600 })
 */
export function signPlaybackJwt(p: { privateKey: string; publicKey: string; playbackId: string; expiresInSec?: number; now?: number }): string {
  const now = Math.floor((p.now ?? Date.now()) / 1000);
  const header = b64url(JSON.stringify({ alg: 'ES256', typ: 'JWT' }));
  const claims: PlaybackClaims = { sub: p.playbackId, pub: p.publicKey, action: 'pull', iss: 'Segmint', iat: now, exp: now + (p.expiresInSec ?? 3600) };
  const body = b64url(JSON.stringify(claims));
  const key = createPrivateKey(Buffer.from(p.privateKey, 'base64').toString('utf8'));
  const sig = sign('sha256', Buffer.from(`${header}.${body}`), { key, dsaEncoding: 'ieee-p1363' });
  return `${header}.${body}.${b64url(sig)}`;
}

/** Reads a JWT's claims without checking it (to find which public key to check it with). */
export function peekClaims(token: string): PlaybackClaims {
  const parts = token.split('.');
  if (parts.length !== 3 || token.length > 8192) throw new PlaybackJwtError('not a JWT');
  let header: { alg?: string };
  let claims: PlaybackClaims;
  try {
    header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8'));
    claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
  } catch {
    throw new PlaybackJwtError('not a JWT');
  }
  if (header.alg !== 'ES256') throw new PlaybackJwtError('JWT must be signed ES256');
  if (typeof claims?.sub !== 'string' || typeof claims.pub !== 'string') throw new PlaybackJwtError('JWT needs sub (playback id) and pub (signing public key)');
  return claims;
}

/** Checks the signature against `publicKey` (base64 PEM), the playback id and expiry. */
export function verifyPlaybackJwt(token: string, p: { publicKey: string; playbackId: string; now?: number }): PlaybackClaims {
  const claims = peekClaims(token);
  const [header, body, sig] = token.split('.') as [string, string, string];
  let ok = false;
  try {
    const key = createPublicKey(Buffer.from(p.publicKey, 'base64').toString('utf8'));
    ok = verify('sha256', Buffer.from(`${header}.${body}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(sig, 'base64url'));
  } catch {
    ok = false;
  }
  if (!ok) throw new PlaybackJwtError('JWT signature does not verify');
  if (claims.sub !== p.playbackId) throw new PlaybackJwtError('JWT is for another playback id');
  const now = Math.floor((p.now ?? Date.now()) / 1000);
  if (typeof claims.exp === 'number' && claims.exp < now) throw new PlaybackJwtError('JWT expired');
  return claims;
}
