import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { isAddress, type Address } from 'viem';
import { generatePrivateKey } from 'viem/accounts';
import { pino } from 'pino';
import { loadWorkerKey } from '../../worker/src/identity/workerKey.js';
import { openWorkerPayments, parseWinProb } from '../../worker/src/payments/workerPayments.js';
import { DEFAULT_EDGE_KEY_FILE, EDGE_NODE_KNOBS, readEdgeKnobs, type EdgeKnobs } from './config.js';
import { startEdge } from './edgeNode.js';

const USAGE = `usage: segmint edge start [flags]\n${Object.values(EDGE_NODE_KNOBS).map((k) => `  ${k.flag.padEnd(22)} ${k.env.padEnd(32)} ${k.help}`).join('\n')}`;

function fail(message: string): never {
  console.error(`edge: ${message}`);
  process.exit(2);
}

function integer(v: string, name: string, min: number, max: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) fail(`${name} must be a whole number from ${min} to ${max} (got "${v}")`);
  return n;
}

/** The edge's key: given, or a file (created with a fresh key the first time at the default path). */
async function edgeKey(spec: string) {
  if (!spec && !existsSync(DEFAULT_EDGE_KEY_FILE)) {
    await mkdir(dirname(DEFAULT_EDGE_KEY_FILE), { recursive: true });
    await writeFile(DEFAULT_EDGE_KEY_FILE, `${generatePrivateKey()}\n`, { mode: 0o600, flag: 'wx' });
  }
  return (await loadWorkerKey(spec || DEFAULT_EDGE_KEY_FILE)).account;
}

async function payments(k: EdgeKnobs, account: Awaited<ReturnType<typeof edgeKey>>, logger: pino.Logger) {
  if (!k.chainRpcUrl || !k.ticketBroker) return null;
  if (!isAddress(k.ticketBroker)) fail(`--ticket-broker must be a contract address (got "${k.ticketBroker}")`);
  if (!/^[1-9][0-9]{0,39}$/.test(k.faceValue)) fail(`--face-value must be a positive whole number of wei (got "${k.faceValue}")`);
  if (!/^[0-9]{1,40}$/.test(k.maxGasPrice)) fail(`--max-gas-price must be a whole number of wei per gas (got "${k.maxGasPrice}")`);
  let winProb: bigint;
  try {
    winProb = parseWinProb(k.winProb);
  } catch (err) {
    fail(`--win-prob: ${(err as Error).message}`);
  }
  const p = await openWorkerPayments({
    account, rpcUrl: k.chainRpcUrl, broker: k.ticketBroker as Address, faceValue: BigInt(k.faceValue), winProb,
    validitySec: integer(k.ticketValiditySec, '--ticket-validity', 60, 365 * 86_400), maxGasPrice: BigInt(k.maxGasPrice), dir: k.paymentsDir, logger,
  });
  p.redeemer.start(integer(k.redeemIntervalMs, '--redeem-interval-ms', 100, 86_400_000));
  return p;
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command !== 'start') {
    console.error(USAGE);
    process.exit(command === undefined || command === '--help' ? 0 : 2);
  }
  const k = readEdgeKnobs(rest);
  const logger = pino({ name: 'edge', level: k.logLevel });
  const account = await edgeKey(k.key);
  const edge = await startEdge({
    orchestratorUrl: k.orchestrator,
    ...(k.origin ? { originUrl: k.origin } : {}),
    account,
    port: integer(k.port, '--port', 0, 65535),
    host: k.host,
    publicUrl: k.publicUrl,
    cacheBytes: integer(k.cacheMb, '--cache-mb', 1, 1024 * 1024) * 1024 * 1024,
    maxViewers: integer(k.maxViewers, '--max-viewers', 1, 1_000_000),
    receiptIntervalMs: integer(k.receiptIntervalMs, '--receipt-interval-ms', 100, 3_600_000),
    receiptsDir: k.receiptsDir,
    payments: await payments(k, account, logger),
    logger,
  });
  // the first line on stdout, for scripts and tests: where viewers reach this edge
  console.log(JSON.stringify({ edge: edge.address, url: edge.url }));
  const stop = async () => {
    await edge.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main(process.argv.slice(2)).catch((err) => {
  console.error(`edge failed: ${(err as Error).message}`);
  process.exit(1);
});
