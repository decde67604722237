/** Worker knobs: environment variable, CLI flag that overrides it, default, meaning. */
export const WORKER_KNOBS = {
  redisUrl: { env: 'REDIS_URL', flag: '--redis-url', default: 'redis://127.0.0.1:6379', help: 'Redis the orchestrator queues jobs in' },
  redisPrefix: { env: 'SEGMINT_REDIS_PREFIX', flag: '--redis-prefix', default: 'segmint', help: 'Same prefix as the orchestrator' },
  concurrency: { env: 'SEGMINT_WORKER_CONCURRENCY', flag: '--concurrency', default: '', help: 'Segments transcoded at once (default: CPU cores)' },
  workDir: { env: 'SEGMINT_WORKER_DIR', flag: '--work-dir', default: '', help: 'Scratch directory (default: the OS temp dir)' },
  ffmpegPath: { env: 'FFMPEG_PATH', flag: '--ffmpeg', default: '', help: 'ffmpeg binary (default: the static build from @ffmpeg-installer/ffmpeg)' },
} as const;
