export * from './errors/SegmintError.js';
export * from './errors/codes.js';
export * from './profiles/profiles.js';
export * from './jobs/transcodeJob.js';
export * from './queue/names.js';
export * from './marketplace/registration.js';
export * from './contracts/index.js';
export * from './payments/index.js';
