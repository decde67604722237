import { randomBytes } from 'node:crypto';
import { createHmac } from 'node:crypto';
import {
  answerC0C1, digestOffset, FMS_KEY, FMS_KEY_OPEN, FP_KEY_OPEN, HANDSHAKE_SIZE, HandshakeError, imprintDigest, packetDigest,
} from './handshake.js';

const c0c1 = (c1: Buffer) => Buffer.concat([Buffer.from([3]), c1]);

describe('RTMP handshake', () => {
  it('answers a plain C1 with S0, a zero-version S1 and S2 echoing C1', () => {
    const c1 = randomBytes(HANDSHAKE_SIZE);
    c1.writeUInt32BE(0, 4);
    const { reply, scheme } = answerC0C1(c0c1(c1));
    expect(scheme).toBe('plain');
    expect(reply.length).toBe(1 + 2 * HANDSHAKE_SIZE);
    expect(reply[0]).toBe(3);
    expect(reply.readUInt32BE(5)).toBe(0);
    expect(reply.subarray(1 + HANDSHAKE_SIZE)).toEqual(c1);
  });

  it('treats a non-zero-version C1 without a valid digest as plain', () => {
    const c1 = randomBytes(HANDSHAKE_SIZE);
    c1.writeUInt32BE(0x09007c02, 4);
    expect(answerC0C1(c0c1(c1)).scheme).toBe('plain');
  });

  for (const schema of [0, 1] as const) {
    it(`answers a digest C1 (schema ${schema}) with a verifiable S1 digest and S2 signature`, () => {
      const c1 = randomBytes(HANDSHAKE_SIZE);
      c1.writeUInt32BE(0x09007c02, 4); // as ffmpeg sends: Flash Player 9.0.124.2
      const clientDigest = imprintDigest(c1, schema, FP_KEY_OPEN);
      const { reply, scheme } = answerC0C1(c0c1(c1));
      expect(scheme).toBe('digest');
      const s1 = reply.subarray(1, 1 + HANDSHAKE_SIZE);
      const s2 = reply.subarray(1 + HANDSHAKE_SIZE);
      // what a checking client (Flash Player, ffmpeg when playing) verifies
      const off = digestOffset(s1, schema);
      expect(s1.subarray(off, off + 32)).toEqual(packetDigest(s1, off, FMS_KEY_OPEN));
      const key = createHmac('sha256', FMS_KEY).update(clientDigest).digest();
      const sig = createHmac('sha256', key).update(s2.subarray(0, HANDSHAKE_SIZE - 32)).digest();
      expect(s2.subarray(HANDSHAKE_SIZE - 32)).toEqual(sig);
    });
  }

  it('refuses RTMPE (version 6) and other versions', () => {
    const c1 = randomBytes(HANDSHAKE_SIZE);
    expect(() => answerC0C1(Buffer.concat([Buffer.from([6]), c1]))).toThrow(HandshakeError);
    expect(() => answerC0C1(Buffer.concat([Buffer.from([0x47]), c1]))).toThrow(/version 71/);
  });
});
