import { createHash } from 'node:crypto';
import { isSignedSegmentHash } from '@segmint/protocol';
import { generatePrivateKey } from 'viem/accounts';
import type { PublishedRecord } from '../live/liveState.js';
import { renderHashSidecar } from './hashSidecar.js';
import { SegmentSigner } from './segmentSigner.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const record = (seq: number, low: { bytes: number; sha256?: string }, rev?: number): PublishedRecord => ({
  index: seq,
  discontinuity: false,
  entry: { seq, session: 1, durationSec: 2, ingestedAt: 0, ...(rev ? { rev } : {}), renditions: { low: { ...low, durationSec: 2, width: 320, height: 180, codecs: 'avc1.64000d', fps: 30 } } },
});

describe('signed hash sidecar', () => {
  const signer = new SegmentSigner(generatePrivateKey());
  const published = [record(0, { bytes: 10, sha256: sha('a') }), record(1, { bytes: 11 }), record(2, { bytes: 12, sha256: sha('c') }, 2), record(3, { bytes: 13, sha256: sha('d') })];

  it('lists the window with file names as the playlist has them, each record signed by the orchestrator', async () => {
    const car = await renderHashSidecar({ playbackId: 'pb1', rendition: 'low', published, window: 3, signer });
    expect(car).toMatchObject({ version: 1, playbackId: 'pb1', rendition: 'low', signer: signer.address });
    // seq 0 left the window; seq 1 was never hashed: left out, not guessed
    expect(car.segments.map((s) => s.uri)).toEqual(['1_2r2.ts', '1_3.ts']);
    for (const s of car.segments) expect(await isSignedSegmentHash('pb1', 'low', s, signer.address)).toBe(true);
  });

  it('a record does not verify for another stream, rendition, length, hash or signer', async () => {
    const car = await renderHashSidecar({ playbackId: 'pb1', rendition: 'low', published, window: 3, signer });
    const s = car.segments[0]!;
    expect(await isSignedSegmentHash('pb2', 'low', s, signer.address)).toBe(false);
    expect(await isSignedSegmentHash('pb1', 'mid', s, signer.address)).toBe(false);
    expect(await isSignedSegmentHash('pb1', 'low', { ...s, bytes: s.bytes + 1 }, signer.address)).toBe(false);
    expect(await isSignedSegmentHash('pb1', 'low', { ...s, sha256: sha('x') }, signer.address)).toBe(false);
    expect(await isSignedSegmentHash('pb1', 'low', { ...s, uri: '1_4.ts' }, signer.address)).toBe(false);
    expect(await isSignedSegmentHash('pb1', 'low', s, new SegmentSigner(generatePrivateKey()).address)).toBe(false);
    expect(await isSignedSegmentHash('pb1', 'low', { ...s, signature: '0x1234' }, signer.address)).toBe(false);
  });

  it('every orchestrator of a deployment derives the same signer from the secret', () => {
    expect(SegmentSigner.fromConfig(undefined, 's3cret').address).toBe(SegmentSigner.fromConfig(undefined, 's3cret').address);
    expect(SegmentSigner.fromConfig(undefined, 's3cret').address).not.toBe(SegmentSigner.fromConfig(undefined, 'other').address);
  });
});
