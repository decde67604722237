import { fingerprintEncoder } from '@segmint/media';

/**
 * Whether results with this encoder fingerprint can be compared hash for hash (a peer or the
 * orchestrator with the same fingerprint must give the same bytes: see media/src/transcode).
 * Only libx264 with the pinned settings is bit-exact; NVENC and other encoders get quality checks.
 */
export const hashComparable = (fingerprint: string): boolean => fingerprintEncoder(fingerprint) === 'libx264';
