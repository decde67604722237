#!/usr/bin/env -S npx tsx
import { cpus } from 'node:os';
import { pino } from 'pino';
import { ffmpegPath } from '@segmint/media';
import { startJobRunner } from './runner/jobRunner.js';
import { WORKER_KNOBS } from './config.js';

const USAGE = `usage: segmint worker start [flags]\n${Object.values(WORKER_KNOBS).map((k) => `  ${k.flag.padEnd(16)} ${k.env.padEnd(28)} ${k.help}`).join('\n')}`;

function flag(argv: string[], k: { env: string; flag: string; default: string }): string {
  const i = argv.indexOf(k.flag);
  const inline = argv.find((a) => a.startsWith(`${k.flag}=`));
  return (i >= 0 ? argv[i + 1] : inline?.slice(k.flag.length + 1)) ?? process.env[k.env] ?? k.default;
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command !== 'start') {
    console.error(USAGE);
    process.exit(command === undefined || command === '--help' ? 0 : 2);
  }
  const ffmpeg = flag(rest, WORKER_KNOBS.ffmpegPath);
  if (ffmpeg) process.env.FFMPEG_PATH = ffmpeg;
  const concurrencyText = flag(rest, WORKER_KNOBS.concurrency);
  const concurrency = concurrencyText ? Number(concurrencyText) : cpus().length;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256) {
    console.error(`--concurrency must be an integer from 1 to 256 (got "${concurrencyText}")`);
    process.exit(2);
  }
  const logger = pino({ name: 'worker', level: process.env.LOG_LEVEL ?? 'info' });
  const redisUrl = flag(rest, WORKER_KNOBS.redisUrl);
  const runner = startJobRunner({
    connection: { url: redisUrl },
    prefix: flag(rest, WORKER_KNOBS.redisPrefix),
    concurrency,
    workDir: flag(rest, WORKER_KNOBS.workDir) || undefined,
    logger,
  });
  runner.on('error', (err) => logger.error({ err }, 'queue connection problem (is Redis up at REDIS_URL?)'));
  await runner.waitUntilReady();
  logger.info({ redisUrl, concurrency, ffmpeg: ffmpegPath() }, 'worker started');
  const stop = async () => {
    logger.info('stopping: finishing jobs in hand');
    await runner.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main(process.argv.slice(2)).catch((err) => {
  console.error(`worker failed to start: ${(err as Error).message}`);
  process.exit(1);
});
