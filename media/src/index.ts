export * from './binaries.js';
export * from './run.js';
export * from './probe.js';
export * from './mpegts.js';
export * from './h264.js';
export * from './testSource.js';
export * from './transcode/ladder.js';
export * from './transcode/transcode.js';
