export * from './payment.js';
export * from './fastTicket.js';
