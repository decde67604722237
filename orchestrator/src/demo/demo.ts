/**
 * `make demo`: everything on embedded defaults. Redis (found or started), the orchestrator with
 * PGlite, one worker process, a stream, and ffmpeg's test source published to it live over RTMP;
 * prints the playback URL, the RTMP URL (point OBS at it) and a dev API key. Ctrl-C stops every child process.
 * Flags: --seconds N (stop after N seconds), --width/--height (default 1920x1080), --chain (local
 * anvil devnet: the worker is paid in tickets and redeems them; prints the earnings command).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { pino } from 'pino';
import { ffmpegPath, testSourceEncodeArgs, testSourceInputArgs } from '@segmint/media';
import { loadOrchestratorConfig } from '../config.js';
import { startOrchestrator } from '../orchestrator.js';
import { ensureRedis } from './localRedis.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1]! : fallback;
};

async function main(): Promise<void> {
  const seconds = Number(arg('--seconds', '0'));
  const width = Number(arg('--width', '1920'));
  const height = Number(arg('--height', '1080'));
  const children: ChildProcess[] = [];
  const onExit: (() => Promise<void>)[] = [];
  const say = (line: string) => process.stdout.write(`${line}\n`);

  say('segmint demo: starting Redis, orchestrator, worker…');
  const redis = await ensureRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  if (redis.child) {
    children.push(redis.child);
    say(`  started redis-server at ${redis.url.replace(/:[^:@/]*@/, ':***@')} (password, AOF in ${redis.dir})`);
  }
  // --chain: a local devnet with payments. anvil (npm @foundry-rs/anvil) on a free port, the
  // contracts deployed, a dev sender key (SENDER_PRIVATE_KEY or a fresh one) and a fresh worker
  // key funded with devnet ETH; the worker asks for a high win probability so winners are redeemed
  // within a minute, and `segmint worker earnings` shows them.
  let chainEnv: Record<string, string> = {};
  let workerChainArgs: string[] = [];
  let earningsCommand = '';
  if (process.argv.includes('--chain')) {
    const { startAnvil, deploySegmint, ANVIL_KEYS } = await import('@segmint/contracts');
    const { generatePrivateKey, privateKeyToAccount } = await import('viem/accounts');
    const { mkdir, writeFile } = await import('node:fs/promises');
    const anvil = await startAnvil();
    onExit.push(() => anvil.stop());
    const senderKey = (process.env.SENDER_PRIVATE_KEY as `0x${string}` | undefined) ?? generatePrivateKey();
    const workerKey = generatePrivateKey();
    const demoDir = process.env.DATA_DIR ?? join(ROOT, '.data', 'demo');
    await mkdir(demoDir, { recursive: true });
    const keyFile = join(demoDir, 'worker-key');
    await writeFile(keyFile, `${workerKey}\n`, { mode: 0o600 });
    const d = await deploySegmint({
      rpcUrl: anvil.rpcUrl, deployerKey: ANVIL_KEYS[0],
      fund: [{ address: privateKeyToAccount(senderKey).address, eth: 10n ** 19n, tokens: 0n }, { address: privateKeyToAccount(workerKey).address, eth: 10n ** 18n, tokens: 0n }],
    });
    say(`  anvil at ${anvil.rpcUrl} (chain ${d.chainId}), TicketBroker ${d.contracts.TicketBroker}`);
    chainEnv = { CHAIN_RPC_URL: anvil.rpcUrl, SEGMINT_CHAIN_ID: String(d.chainId), SEGMINT_TICKET_BROKER: d.contracts.TicketBroker, SENDER_PRIVATE_KEY: senderKey };
    const paymentsDir = join(demoDir, 'payments');
    const chainFlags = ['--chain-rpc-url', anvil.rpcUrl, '--ticket-broker', d.contracts.TicketBroker, '--payments-dir', paymentsDir];
    // 10^5 wei/pixel × ~100 M pixels per 2 s of the 1080p ladder ≈ one ticket of EV 10^13 per
    // segment; 1 in 10 wins 10^14 wei (well above the ~4·10^13 wei of gas one redemption costs).
    workerChainArgs = ['--key', keyFile, '--price', '100000', '--face-value', '100000000000000', '--win-prob', '1/10', '--redeem-interval-ms', '10000', ...chainFlags];
    earningsCommand = `bin/segmint worker earnings --key ${keyFile} ${chainFlags.join(' ')}`;
  }
  const config = loadOrchestratorConfig(process.argv.filter((a) => a !== '--chain').slice(2), {
    ...process.env,
    ...chainEnv,
    REDIS_URL: redis.url,
    DATA_DIR: process.env.DATA_DIR ?? join(ROOT, '.data', 'demo'),
    SEGMINT_REDIS_PREFIX: process.env.SEGMINT_REDIS_PREFIX ?? `segmint-demo-${process.pid}`,
    // the demo's webhook receivers and files are on this machine (production keeps the SSRF guard on)
    SEGMINT_ALLOW_PRIVATE_URLS: process.env.SEGMINT_ALLOW_PRIVATE_URLS ?? '1',
  });
  const logger = pino({ level: process.env.LOG_LEVEL ?? 'warn', name: 'orchestrator' });
  const orch = await startOrchestrator(config, { logger });
  say(`  orchestrator at ${orch.url} (database: ${orch.db.kind}, data: ${config.dataDir})`);

  // The worker registers with the orchestrator under its key (~/.segmint/worker-key, made once).
  const worker = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'worker/src/cli.ts'), 'start', '--orchestrator', orch.url, ...workerChainArgs], {
    cwd: ROOT,
    env: {
      ...process.env,
      // no REDIS_URL: the worker reaches its queue as its own Redis user, at the URL its
      // registration answer gives (the orchestrator's password never leaves the orchestrator)
      REDIS_URL: '',
      // calibration (`segmint worker start` alone) takes seconds; the demo starts at once with one slot per core
      SEGMINT_WORKER_CONCURRENCY: process.env.SEGMINT_WORKER_CONCURRENCY ?? String(cpus().length),
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  children.push(worker);

  const { token, key } = await orch.apiKeys.create('demo');
  const stream = await orch.pipeline.streams.create({ ownerId: key.ownerId, name: 'demo', profiles: (await import('@segmint/protocol')).DEFAULT_PROFILES.map((p) => ({ ...p })) });

  // The test source, encoded live (-re) and published over RTMP, as OBS would: the orchestrator's
  // RTMP ingest cuts it into segments.
  if (!orch.rtmp) throw new Error('the demo publishes over RTMP: SEGMINT_RTMP_PORT must not be -1');
  const rtmpUrl = `rtmp://127.0.0.1:${orch.rtmp.port}/live`;
  const ffmpeg = spawn(ffmpegPath(), [
    '-hide_banner', '-loglevel', 'error', '-re',
    ...testSourceInputArgs({ width, height, fps: 30 }),
    ...testSourceEncodeArgs({ fps: 30, gopSec: 2 }),
    '-f', 'flv', `${rtmpUrl}/${stream.streamKey}`,
  ], { stdio: ['ignore', 'ignore', 'inherit'] });
  children.push(ffmpeg);

  let stopping = false;
  const stop = async (code = 0) => {
    if (stopping) return;
    stopping = true;
    say('stopping…');
    // source first, then the worker (it finishes its jobs in hand), then the orchestrator, then Redis
    const exited = (c: ChildProcess) =>
      c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => c.once('exit', () => r()));
    for (const c of [ffmpeg, worker]) {
      c.kill('SIGTERM');
      await Promise.race([exited(c), new Promise((r) => setTimeout(r, 5000))]);
    }
    await orch.close().catch(() => {});
    for (const f of onExit) await f().catch(() => {});
    for (const c of children) c.kill('SIGTERM');
    process.exit(code);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
  ffmpeg.once('exit', (code) => {
    if (!stopping) {
      say(`ffmpeg exited (${code}); stopping`);
      void stop(1);
    }
  });

  let printed = false;
  const started = Date.now();
  say(`  publishing the test source to ${rtmpUrl}/… ; waiting for the first transcoded segment…`);
  void (async () => {
    while (!stopping && !(await fetch(`${orch.url}/hls/${stream.playbackId}/index.m3u8`).then((r) => r.ok, () => false))) {
      await new Promise((r) => setTimeout(r, 200));
    }
    if (stopping) return;
    printed = true;
    say(`  live after ${((Date.now() - started) / 1000).toFixed(1)} s`);
    say('');
    say(`playback: ${orch.url}/hls/${stream.playbackId}/index.m3u8`);
    say(`api key: ${token}`);
    say(`rtmp: ${rtmpUrl}/${stream.streamKey}`);
    say(`stream key: ${stream.streamKey}   (OBS: server ${rtmpUrl}, this stream key; or push: PUT ${orch.url}/live/${stream.streamKey}/SEQ.ts)`);
    say(`metrics: ${orch.url}/metrics`);
    if (earningsCommand) say(`earnings: ${earningsCommand}   (add --redeem to redeem pending winners now)`);
    say('');
    say('Open the playback URL in ffplay, VLC, Safari or an hls.js player. Ctrl-C stops everything.');
  })();

  if (seconds > 0) setTimeout(() => void stop(printed ? 0 : 1), seconds * 1000).unref();
}

main().catch((err) => {
  console.error(`demo failed: ${(err as Error).message}`);
  process.exit(1);
});
