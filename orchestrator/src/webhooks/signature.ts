import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Livepeer Studio's webhook signature header: `Livepeer-Signature: t=TIMESTAMP_MS,v1=HEX` where
 * HEX = HMAC-SHA256(sharedSecret, raw request body).
 *
 * @example signatureHeader('{"event":"stream.started"}', 'secret', Date.now()) // "t=1700000000000,v1=5d41…"
 */
export function signatureHeader(body: string, secret: string, timestampMs: number): string {
  return `t=${timestampMs},v1=${hmacHex(body, secret)}`;
}

export const hmacHex = (body: string, secret: string) => createHmac('sha256', secret).update(body).digest('hex');

/** What a receiver does: parse the header and compare in constant time. */
export function verifySignature(header: string, body: string, secret: string): { valid: boolean; timestampMs: number | null } {
  const parts = Object.fromEntries(header.split(',').map((kv) => kv.trim().split('=', 2) as [string, string]));
  const t = parts.t !== undefined && /^\d{1,16}$/.test(parts.t) ? Number(parts.t) : null;
  const got = Buffer.from(parts.v1 ?? '', 'hex');
  const want = Buffer.from(hmacHex(body, secret), 'hex');
  return { valid: got.length === want.length && timingSafeEqual(got, want), timestampMs: t };
}
