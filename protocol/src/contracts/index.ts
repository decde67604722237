export * from './abis.generated.js';
export * from './ticket.js';
export * from './commitment.js';
export * from './chain.js';
export * from './networks.js';
