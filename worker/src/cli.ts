#!/usr/bin/env -S npx tsx
import { pino } from 'pino';
import { createPublicClient, formatEther, formatUnits, http, isAddress, parseUnits, type Address } from 'viem';
import { bondStake, readStake, StakeError } from './chain/stake.js';
import { ffmpegPath } from '@segmint/media';
import { calibrate } from './capabilities/calibrate.js';
import { markNondeterministic, preferredEncoder, probeCapabilities } from './capabilities/probe.js';
import { WORKER_KNOBS } from './config.js';
import { call } from './http.js';
import { loadWorkerKey } from './identity/workerKey.js';
import { MarketplaceClient, queueRedis } from './marketplace/client.js';
import { networkEnv, type Registered } from '@segmint/protocol';
import { createWorkerMetrics, serveWorkerMetrics } from './metrics/workerMetrics.js';
import { startJobRunner } from './runner/jobRunner.js';
import { openWorkerPayments, parseWinProb, type WorkerPayments } from './payments/workerPayments.js';
import type { TicketRejectedError } from './payments/ticketReceiver.js';

const USAGE = `usage: segmint worker <start|status|stake AMOUNT|earnings [--redeem]> [flags]
  start         probe encoders, register with the orchestrator (signed), heartbeat, transcode the segments it wins
  status        show this worker's registration, performance and stake
  stake AMOUNT  bond AMOUNT stake tokens (e.g. 100 or 2.5) on StakingManager: approve + bond
  earnings      tickets received, won, redeemed, pending and wei earned; --redeem redeems pending winners now
${Object.values(WORKER_KNOBS).map((k) => `  ${k.flag.padEnd(16)} ${k.env.padEnd(30)} ${k.help}`).join('\n')}`;

type Knob = { env: string; flag: string; default: string };
function flag(argv: string[], k: Knob): string {
  const i = argv.indexOf(k.flag);
  const inline = argv.find((a) => a.startsWith(`${k.flag}=`));
  return (i >= 0 ? argv[i + 1] : inline?.slice(k.flag.length + 1)) ?? process.env[k.env] ?? k.default;
}

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}

function integer(text: string, name: string, min: number, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) fail(`${name} must be an integer from ${min} to ${max} (got "${text}")`);
  return n;
}

async function start(argv: string[]): Promise<void> {
  const logger = pino({ name: 'worker', level: process.env.LOG_LEVEL ?? 'info' });
  const ffmpeg = flag(argv, WORKER_KNOBS.ffmpegPath);
  if (ffmpeg) process.env.FFMPEG_PATH = ffmpeg;
  const priceText = flag(argv, WORKER_KNOBS.pricePerPixel);
  if (!/^[0-9]{1,40}$/.test(priceText)) fail(`--price must be a whole number of wei per pixel (got "${priceText}")`);
  const delayMs = integer(flag(argv, WORKER_KNOBS.testDelayMs), '--test-delay-ms', 0, 600_000);
  const cheatRate = Number(flag(argv, WORKER_KNOBS.testCheatRate));
  if (!(cheatRate >= 0 && cheatRate <= 1)) fail('--test-cheat-rate must be a number from 0 to 1');
  const cheatBitrate = Number(flag(argv, WORKER_KNOBS.testCheatBitrate));
  if (!(cheatBitrate > 0 && cheatBitrate <= 1)) fail('--test-cheat-bitrate must be a number above 0, at most 1');
  const cheat = { rate: cheatRate, bitrate: cheatBitrate, seed: flag(argv, WORKER_KNOBS.testCheatSeed) || undefined };
  const found = await preferredEncoder().catch((err: Error) => fail(err.message));
  const concurrencyText = flag(argv, WORKER_KNOBS.concurrency);
  let concurrency: number;
  if (concurrencyText) concurrency = integer(concurrencyText, '--concurrency', 1, 256);
  else {
    const c = await calibrate({ encoder: found.encoder, onProgress: (msg) => logger.info(msg) });
    concurrency = c.maxConcurrent;
    logger.info({ maxConcurrent: c.maxConcurrent, secondsPerSegment: c.secondsPerSegment, cached: c.cached }, 'calibrated');
  }

  const { account, source } = await loadWorkerKey(flag(argv, WORKER_KNOBS.key) || undefined);
  const probed = await probeCapabilities(concurrency, found);
  const maxHeightText = flag(argv, WORKER_KNOBS.maxHeight);
  const capabilities = maxHeightText ? { ...probed, maxHeight: Math.min(probed.maxHeight, integer(maxHeightText, '--max-height', 144, 4320)) } : probed;
  if (flag(argv, WORKER_KNOBS.testNondeterministic) === '1') capabilities.fingerprint = markNondeterministic(capabilities.fingerprint);
  const orchestratorUrl = flag(argv, WORKER_KNOBS.orchestratorUrl).replace(/\/$/, '');
  let runner: ReturnType<typeof startJobRunner> | undefined;
  let latest: Registered; // the newest registration: its Redis password is the valid one
  let refused = false;
  const redisOverride = flag(argv, WORKER_KNOBS.redisUrl) || undefined;
  const market = new MarketplaceClient({
    orchestratorUrl, account, pricePerPixel: BigInt(priceText), capabilities, logger,
    // A new registration rotated this worker's Redis password: reconnect with it (the old runner
    // finishes the segments in hand; the orchestrator's slots bound what both take together).
    onRegisteredAgain: (r) => {
      latest = r;
      if (refused || !runner) return; // not started yet: it will start with `latest`
      const old = runner;
      runner = run(r);
      void old?.close().catch((err: Error) => logger.warn({ err: err.message }, 'closing the previous queue connection failed'));
    },
  });
  try {
    latest = await market.start();
  } catch (err) {
    const e = err as { code?: string; message: string };
    fail(`could not register with ${orchestratorUrl}: ${e.code ? `${e.code}: ` : ''}${e.message} (is the orchestrator running? set --orchestrator)`);
  }
  await warnIfUnstaked(market, orchestratorUrl, logger);

  const metrics = createWorkerMetrics();
  const payments = await paymentsFrom(argv, account, logger, (err) => {
    // The sender cheated or cannot pay: stop working for it (no heartbeats: no more auctions won).
    logger.error({ code: err.code, err: err.message }, 'refusing this orchestrator\'s tickets: stopped taking its work');
    refused = true;
    market.stop();
    void runner?.pause(true);
  }, (outcome, fates) => {
    metrics.redemptionRounds.inc({ outcome });
    metrics.ticketsRedeemed.inc(fates.filter((f) => f.fate === 'redeemed').length);
  });
  // The queue is reached only as this worker's own Redis user, handed out at registration.
  const run = (r: Registered) => {
    const w = startJobRunner({
      connection: queueRedis(r.redis, redisOverride),
      prefix: r.redis.prefix,
      address: market.address,
      concurrency,
      workerId: market.address,
      workDir: flag(argv, WORKER_KNOBS.workDir) || undefined,
      delayMs,
      cheat,
      fingerprint: capabilities.fingerprint,
      ...(payments ? { payments: payments.receiver } : {}),
      encoder: found.encoder,
      commit: (jobId, renditions) => market.commit(jobId, renditions),
      logger,
    });
    // Redis refusing the password for 3 s (restarted without this worker's ACL user, and no
    // orchestrator recreated it from its stored hash yet): register again, which recreates it.
    w.on('completed', () => metrics.segments.inc({ outcome: 'done' }));
    w.on('failed', () => metrics.segments.inc({ outcome: 'failed' }));
    let authFailingSince = 0;
    w.on('error', (err) => {
      // The message only: ioredis errors carry the command, and HELLO's carries the password.
      logger.error({ err: err.message }, 'queue connection problem (is Redis up at the URL the orchestrator gave, or --redis-url?)');
      if (!/WRONGPASS|NOAUTH/.test(err.message) || runner !== w || refused) return;
      const now = Date.now();
      if (now - authFailingSince > 10_000) authFailingSince = now;
      else if (now - authFailingSince >= 3_000) void market.registerAgain();
    });
    return w;
  };
  runner = run(latest);
  payments?.redeemer.start(integer(flag(argv, WORKER_KNOBS.redeemIntervalMs), '--redeem-interval-ms', 100, 86_400_000));
  await runner.waitUntilReady();
  let stopping = false;
  const metricsPort = flag(argv, WORKER_KNOBS.metricsPort);
  const metricsServer = metricsPort === ''
    ? null
    : await serveWorkerMetrics(metrics, { host: flag(argv, WORKER_KNOBS.metricsHost), port: integer(metricsPort, '--metrics-port', 0, 65535), healthy: () => !stopping });
  if (metricsServer) logger.info({ metrics: metricsServer.addresses()[0] }, 'serving /metrics and /healthz');
  const redisAt = { url: redisOverride ?? latest.redis.url, user: latest.redis.username };
  logger.info({ address: market.address, key: source, orchestratorUrl, redis: redisAt, capabilities, encoder: found.encoder, pricePerPixel: priceText, ffmpeg: ffmpegPath() }, 'worker started');
  const stop = async () => {
    logger.info('stopping: finishing segments in hand');
    stopping = true;
    market.stop();
    await runner?.close();
    await payments?.close();
    await metricsServer?.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

function chainFlags(argv: string[]): { rpcUrl: string; stakingManager: Address } | null {
  const rpcUrl = flag(argv, WORKER_KNOBS.chainRpcUrl);
  const stakingManager = flag(argv, WORKER_KNOBS.stakingManager);
  if (!rpcUrl || !stakingManager) return null;
  if (!isAddress(stakingManager)) fail(`--staking-manager must be a contract address (got "${stakingManager}")`);
  return { rpcUrl, stakingManager };
}

/** Registered but not eligible for lack of stake: say so now rather than idle silently. */
async function warnIfUnstaked(market: MarketplaceClient, orchestratorUrl: string, logger: { warn(o: object, msg: string): void }): Promise<void> {
  try {
    const info = await market.info();
    const me = (await (await call(`${orchestratorUrl}/marketplace/workers/${market.address}`)).json()) as { stake: string; jailed: boolean };
    if (BigInt(me.stake) < BigInt(info.minStake)) {
      logger.warn({ stake: me.stake, minStake: info.minStake }, 'stake below the orchestrator\'s minimum: this worker wins nothing until you run `segmint worker stake AMOUNT`');
    }
    if (me.jailed) logger.warn({}, 'this worker is jailed on StakingManager (slashed): it wins nothing until the jail period ends');
  } catch {
    /* informational only */
  }
}

async function status(argv: string[]): Promise<void> {
  const { account } = await loadWorkerKey(flag(argv, WORKER_KNOBS.key) || undefined);
  const orchestratorUrl = flag(argv, WORKER_KNOBS.orchestratorUrl).replace(/\/$/, '');
  console.log(`worker ${account.address}`);
  const chain = chainFlags(argv);
  if (chain) {
    try {
      const s = await readStake(chain.rpcUrl, chain.stakingManager, account.address);
      const fmt = (v: bigint) => `${formatUnits(v, s.decimals)} ${s.symbol}`;
      console.log(`stake: ${fmt(s.bonded)} bonded, ${fmt(s.unbonding)} unbonding, ${fmt(s.balance)} in the wallet${s.jailedUntil * 1000 > Date.now() ? `, JAILED until ${new Date(s.jailedUntil * 1000).toISOString()}` : ''}`);
    } catch (err) {
      console.log(`stake: unknown (${(err as Error).message})`);
    }
  } else console.log('stake: no chain configured (set CHAIN_RPC_URL and SEGMINT_STAKING_MANAGER)');
  try {
    const res = await call(`${orchestratorUrl}/marketplace/workers/${account.address}`);
    console.log(`orchestrator ${orchestratorUrl} sees:\n${JSON.stringify(await res.json(), null, 2)}`);
  } catch (err) {
    const e = err as { code?: string; message: string };
    if (e.code === 'WORKER_NOT_REGISTERED') fail(`not registered with ${orchestratorUrl}: run \`segmint worker start\``);
    fail(`could not ask ${orchestratorUrl}: ${e.message}`);
  }
}

async function stake(argv: string[]): Promise<void> {
  const [amountText, ...rest] = argv;
  if (!amountText || !/^[0-9]+(\.[0-9]+)?$/.test(amountText)) fail('usage: segmint worker stake AMOUNT [flags] (AMOUNT in stake tokens, e.g. 100 or 2.5)');
  const chain = chainFlags(rest) ?? fail('set CHAIN_RPC_URL (--chain-rpc-url) and SEGMINT_STAKING_MANAGER (--staking-manager) to stake');
  const { account } = await loadWorkerKey(flag(rest, WORKER_KNOBS.key) || undefined);
  try {
    const { decimals } = await readStake(chain.rpcUrl, chain.stakingManager, account.address);
    const after = await bondStake({ ...chain, account, amount: parseUnits(amountText, decimals), onProgress: (line) => console.log(line) });
    console.log(`bonded: ${formatUnits(after.bonded, after.decimals)} ${after.symbol} (worker ${account.address})`);
  } catch (err) {
    fail(err instanceof StakeError ? err.message : `staking failed: ${(err as Error).message.split('\n')[0]}`);
  }
}

/** Ticket payments when CHAIN_RPC_URL and SEGMINT_TICKET_BROKER are set, else null (the worker works unpaid). */
async function paymentsFrom(
  argv: string[],
  account: Awaited<ReturnType<typeof loadWorkerKey>>['account'],
  logger?: Pick<ReturnType<typeof pino>, 'info' | 'warn'>,
  onRefused?: (err: TicketRejectedError) => void,
  onRedeemRound?: (outcome: 'ok' | 'failed', fates: { fate: string }[]) => void,
): Promise<WorkerPayments | null> {
  const rpcUrl = flag(argv, WORKER_KNOBS.chainRpcUrl);
  const broker = flag(argv, WORKER_KNOBS.ticketBroker);
  if (!rpcUrl || !broker) return null;
  if (!isAddress(broker)) fail(`--ticket-broker must be a contract address (got "${broker}")`);
  const faceValue = flag(argv, WORKER_KNOBS.faceValue);
  if (!/^[0-9]{1,40}$/.test(faceValue) || BigInt(faceValue) === 0n) fail(`--face-value must be a positive whole number of wei (got "${faceValue}")`);
  const maxGasPrice = flag(argv, WORKER_KNOBS.maxGasPrice);
  if (!/^[0-9]{1,40}$/.test(maxGasPrice)) fail(`--max-gas-price must be a whole number of wei per gas (got "${maxGasPrice}")`);
  const sender = flag(argv, WORKER_KNOBS.ticketSender);
  if (sender && !isAddress(sender)) fail(`--ticket-sender must be an address (got "${sender}")`);
  let winProb: bigint;
  try {
    winProb = parseWinProb(flag(argv, WORKER_KNOBS.winProb));
  } catch (err) {
    fail(`--win-prob: ${(err as Error).message}`);
  }
  try {
    return await openWorkerPayments({
      account, rpcUrl, broker, faceValue: BigInt(faceValue), winProb,
      validitySec: integer(flag(argv, WORKER_KNOBS.ticketValiditySec), '--ticket-validity', 60, 365 * 86_400),
      ...(sender ? { sender: sender as Address } : {}),
      maxGasPrice: BigInt(maxGasPrice),
      dir: flag(argv, WORKER_KNOBS.paymentsDir) || undefined,
      ...(logger ? { logger } : {}),
      ...(onRefused ? { onRefused } : {}),
      ...(onRedeemRound ? { onRedeemRound } : {}),
    });
  } catch (err) {
    fail(`cannot set up ticket payments on ${rpcUrl}: ${(err as Error).message.split('\n')[0]}`);
  }
}

async function earnings(argv: string[]): Promise<void> {
  const { account } = await loadWorkerKey(flag(argv, WORKER_KNOBS.key) || undefined);
  const payments = await paymentsFrom(argv, account);
  if (!payments) fail('set CHAIN_RPC_URL (--chain-rpc-url) and SEGMINT_TICKET_BROKER (--ticket-broker) to see earnings');
  const show = () => {
    const s = payments.store.summary();
    console.log(`worker ${account.address}  (ticket book ${payments.store.path})`);
    console.log(`results paid: ${s.results}  tickets received: ${s.received}  expected value: ${formatEther(s.ev)} ETH`);
    console.log(`won: ${s.won}  redeemed: ${s.redeemed}  pending: ${s.pending} (${formatEther(s.pendingWei)} ETH)  already-redeemed: ${s['already-redeemed']}  expired: ${s.expired}  invalid: ${s.invalid}`);
    console.log(`earned: ${formatEther(s.earned)} ETH (${s.earned} wei), gas spent redeeming: ${formatEther(s.gas)} ETH, net: ${formatEther(s.earned - s.gas)} ETH`);
  };
  show();
  if (argv.includes('--redeem')) {
    const pending = payments.store.pending().length;
    console.log(pending ? `redeeming ${pending} winning tickets…` : 'nothing to redeem');
    try {
      await payments.redeemer.runOnce((p) => console.log(p.message));
    } catch (err) {
      await payments.close();
      fail(`redemption failed: ${(err as Error).message.split('\n')[0]}`);
    }
    show();
  }
  const rpcUrl = flag(argv, WORKER_KNOBS.chainRpcUrl);
  const balance = await createPublicClient({ transport: http(rpcUrl) }).getBalance({ address: account.address }).catch(() => null);
  if (balance !== null) console.log(`wallet balance: ${formatEther(balance)} ETH`);
  await payments.close();
}

/** SEGMINT_NETWORK: the chain settings of its deployment file, where not set explicitly. */
function applyNetwork(argv: string[]): void {
  const network = flag(argv, WORKER_KNOBS.network);
  if (!network) return;
  try {
    for (const [name, value] of Object.entries(networkEnv(network, flag(argv, WORKER_KNOBS.deploymentsDir) || undefined))) process.env[name] ||= value;
  } catch (err) {
    fail((err as Error).message);
  }
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  applyNetwork(rest);
  if (command === 'start') return start(rest);
  if (command === 'status') return status(rest);
  if (command === 'stake') return stake(rest);
  if (command === 'earnings') return earnings(rest);
  console.error(USAGE);
  process.exit(command === undefined || command === '--help' ? 0 : 2);
}

main(process.argv.slice(2)).catch((err) => {
  console.error(`worker failed: ${(err as Error).message}`);
  process.exit(1);
});
