/**
 * RTMP handshake, server side: C0+C1 in, S0+S1+S2 out, then C2 in.
 *
 * Two variants exist. The plain one (RTMP spec 5.2) echoes C1 as S2. The digest ("complex")
 * variant, sent by Flash-lineage clients (Flash Player, ffmpeg, OBS via librtmp), puts an
 * HMAC-SHA256 digest keyed with "Genuine Adobe Flash Player 001" in C1; the server answers with
 * an S1 digest keyed with the FMS key and an S2 signed with a key derived from the client's
 * digest. Clients that check S2 (players) reject a server that echoes a digest C1, so both
 * variants matter. The digest sits in one of two 764-byte blocks ("schema" 0: block at 8,
 * schema 1: block at 772); the position within the block comes from the block's first 4 bytes.
 */
import { createHmac, randomBytes } from 'node:crypto';

export const HANDSHAKE_SIZE = 1536;
export const RTMP_VERSION = 3;

const FMS_KEY_TEXT = Buffer.from('Genuine Adobe Flash Media Server 001', 'ascii'); // 36 bytes
const FP_KEY_TEXT = Buffer.from('Genuine Adobe Flash Player 001', 'ascii'); // 30 bytes
const KEY_TAIL = Buffer.from('f0eec24a8068bee82e00d0d1029e7e576eec5d2d29806fab93b8e636cfeb31ae', 'hex');
/** Full FMS key (text + 32 bytes): keys the S2 signature key. */
export const FMS_KEY = Buffer.concat([FMS_KEY_TEXT, KEY_TAIL]);
/** Full player key: what a client derives its C2 key from. */
export const FP_KEY = Buffer.concat([FP_KEY_TEXT, KEY_TAIL]);
export const FMS_KEY_OPEN = FMS_KEY_TEXT;
export const FP_KEY_OPEN = FP_KEY_TEXT;

export class HandshakeError extends Error {
  override name = 'HandshakeError';
}

export type DigestSchema = 0 | 1;

const hmac = (key: Buffer, ...data: Buffer[]) => {
  const h = createHmac('sha256', key);
  for (const d of data) h.update(d);
  return h.digest();
};

/** Offset of the 32-byte digest in a 1536-byte C1/S1 for a schema. */
export function digestOffset(c1: Buffer, schema: DigestSchema): number {
  const base = schema === 0 ? 8 : 772;
  const sum = c1[base]! + c1[base + 1]! + c1[base + 2]! + c1[base + 3]!;
  return base + 4 + (sum % 728);
}

/** HMAC over the packet without its digest bytes. */
export function packetDigest(packet: Buffer, offset: number, key: Buffer): Buffer {
  return hmac(key, packet.subarray(0, offset), packet.subarray(offset + 32));
}

/** Writes a digest into a 1536-byte packet in place; returns the digest. */
export function imprintDigest(packet: Buffer, schema: DigestSchema, key: Buffer): Buffer {
  const off = digestOffset(packet, schema);
  const d = packetDigest(packet, off, key);
  d.copy(packet, off);
  return d;
}

/** The client's digest if C1 carries a valid one under either schema, else null (plain handshake). */
export function findClientDigest(c1: Buffer): { schema: DigestSchema; digest: Buffer } | null {
  if (c1.readUInt32BE(4) === 0) return null; // version 0: plain handshake
  for (const schema of [1, 0] as const) {
    const off = digestOffset(c1, schema);
    const want = packetDigest(c1, off, FP_KEY_OPEN);
    if (want.equals(c1.subarray(off, off + 32))) return { schema, digest: want };
  }
  return null;
}

/** S2 for a digest handshake: random bytes signed with HMAC(HMAC(FMS_KEY, clientDigest), …). */
export function signedS2(clientDigest: Buffer): Buffer {
  const s2 = randomBytes(HANDSHAKE_SIZE);
  const key = hmac(FMS_KEY, clientDigest);
  hmac(key, s2.subarray(0, HANDSHAKE_SIZE - 32)).copy(s2, HANDSHAKE_SIZE - 32);
  return s2;
}

export type ServerHandshake = { reply: Buffer; scheme: 'plain' | 'digest' };

/**
 * Answers C0+C1 (1537 bytes) with S0+S1+S2. Throws HandshakeError for a version other than 3
 * (6 is encrypted RTMPE, which is not offered).
 */
export function answerC0C1(c0c1: Buffer, now = Date.now()): ServerHandshake {
  if (c0c1.length < 1 + HANDSHAKE_SIZE) throw new HandshakeError('C0+C1 shorter than 1537 bytes');
  const version = c0c1[0]!;
  if (version !== RTMP_VERSION) throw new HandshakeError(`unsupported RTMP version ${version} (only 3; RTMPE is not offered)`);
  const c1 = c0c1.subarray(1, 1 + HANDSHAKE_SIZE);
  const s1 = randomBytes(HANDSHAKE_SIZE);
  s1.writeUInt32BE(now >>> 0 & 0x7fffffff, 0);
  const client = findClientDigest(c1);
  if (!client) {
    s1.writeUInt32BE(0, 4); // plain: zero version, S2 echoes C1
    return { reply: Buffer.concat([Buffer.from([RTMP_VERSION]), s1, c1]), scheme: 'plain' };
  }
  s1.writeUInt32BE(0x04050001, 4); // a server version (FMS-like); any non-zero value marks digest S1
  imprintDigest(s1, client.schema, FMS_KEY_OPEN);
  return { reply: Buffer.concat([Buffer.from([RTMP_VERSION]), s1, signedS2(client.digest)]), scheme: 'digest' };
}
