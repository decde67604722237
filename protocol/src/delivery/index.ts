export * from './segmentHashes.js';
