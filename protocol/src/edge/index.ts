export * from './edgeRegistration.js';
export * from './receipt.js';
export * from './edgeCommitment.js';
export * from './viewerSession.js';
