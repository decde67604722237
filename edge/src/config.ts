import { homedir } from 'node:os';
import { join } from 'node:path';
import { readKnobs } from '../../orchestrator/src/config.js';

/** Every `segmint edge start` knob: environment variable, flag that overrides it, default, meaning. README lists them. */
export const EDGE_NODE_KNOBS = {
  orchestrator: { env: 'SEGMINT_ORCHESTRATOR_URL', flag: '--orchestrator', default: 'http://127.0.0.1:8935', help: 'Orchestrator to register with (and to pull from, unless --origin)' },
  origin: { env: 'SEGMINT_EDGE_ORIGIN', flag: '--origin', default: '', help: 'Where to pull playlists and segments: the orchestrator (default) or another edge' },
  key: { env: 'SEGMINT_EDGE_KEY', flag: '--key', default: '', help: 'Private key (0x…) or a file holding one: the edge\'s identity, stake and payee (default ~/.segmint/edge-key, created on first start)' },
  port: { env: 'SEGMINT_EDGE_PORT', flag: '--port', default: '8936', help: 'HTTP port viewers fetch from' },
  host: { env: 'SEGMINT_EDGE_HOST', flag: '--host', default: '127.0.0.1', help: 'Interface to listen on (0.0.0.0 for all)' },
  publicUrl: { env: 'SEGMINT_EDGE_PUBLIC_URL', flag: '--public-url', default: '', help: 'URL viewers reach this edge at (default http://HOST:PORT)' },
  cacheMb: { env: 'SEGMINT_EDGE_CACHE_MB', flag: '--cache-mb', default: '512', help: 'Segment cache size limit, MiB (least recently served dropped first)' },
  maxViewers: { env: 'SEGMINT_EDGE_MAX_VIEWERS', flag: '--max-viewers', default: '1000', help: 'Viewer sessions this edge takes at once (steering counts its load against it)' },
  receiptIntervalMs: { env: 'SEGMINT_EDGE_RECEIPT_INTERVAL_MS', flag: '--receipt-interval-ms', default: '2000', help: 'How often viewers\' receipts are submitted to be paid' },
  chainRpcUrl: { env: 'CHAIN_RPC_URL', flag: '--chain-rpc-url', default: '', help: 'EVM JSON-RPC URL; with --ticket-broker the edge is paid in tickets and redeems its winners' },
  ticketBroker: { env: 'SEGMINT_TICKET_BROKER', flag: '--ticket-broker', default: '', help: 'TicketBroker contract address' },
  faceValue: { env: 'SEGMINT_TICKET_FACE_VALUE', flag: '--face-value', default: '10000000000000000', help: 'Face value (wei) of the tickets the edge asks for' },
  winProb: { env: 'SEGMINT_TICKET_WIN_PROB', flag: '--win-prob', default: '1/1000', help: 'Win probability of a ticket, as N/D' },
  ticketValiditySec: { env: 'SEGMINT_TICKET_VALIDITY', flag: '--ticket-validity', default: '86400', help: 'Seconds a ticket stays redeemable' },
  maxGasPrice: { env: 'MAX_GAS_PRICE', flag: '--max-gas-price', default: '50000000000', help: 'Redeem winning tickets only while gas is at most this (wei/gas)' },
  redeemIntervalMs: { env: 'SEGMINT_REDEEM_INTERVAL_MS', flag: '--redeem-interval-ms', default: '60000', help: 'How often pending winning tickets are redeemed' },
  receiptsDir: { env: 'SEGMINT_EDGE_RECEIPTS_DIR', flag: '--receipts-dir', default: join(homedir(), '.segmint', 'edge-receipts'), help: 'Where viewers\' receipts are journaled (fsync\'d before the viewer is answered) until the orchestrator has answered them' },
  paymentsDir: { env: 'SEGMINT_PAYMENTS_DIR', flag: '--payments-dir', default: join(homedir(), '.segmint', 'edge-payments'), help: 'Where the ticket book (fsync\'d) is kept' },
  logLevel: { env: 'LOG_LEVEL', flag: '--log-level', default: 'info', help: 'pino log level' },
} as const;

export type EdgeKnobs = Record<keyof typeof EDGE_NODE_KNOBS, string>;

/** Flags (`--flag value` or `--flag=value`), then environment, then defaults (the orchestrator's reader). */
export const readEdgeKnobs = (argv: readonly string[], env: NodeJS.ProcessEnv = process.env): EdgeKnobs => readKnobs(EDGE_NODE_KNOBS, argv, env);

export const DEFAULT_EDGE_KEY_FILE = join(homedir(), '.segmint', 'edge-key');
