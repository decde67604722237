/** Worker knobs: environment variable, CLI flag that overrides it, default, meaning. */
export const WORKER_KNOBS = {
  redisUrl: { env: 'REDIS_URL', flag: '--redis-url', default: 'redis://127.0.0.1:6379', help: 'Redis the orchestrator queues jobs in' },
  redisPrefix: { env: 'SEGMINT_REDIS_PREFIX', flag: '--redis-prefix', default: 'segmint', help: 'Same prefix as the orchestrator' },
  concurrency: { env: 'SEGMINT_WORKER_CONCURRENCY', flag: '--concurrency', default: '', help: 'Segments transcoded at once (default: measured by a calibration run, cached)' },
  workDir: { env: 'SEGMINT_WORKER_DIR', flag: '--work-dir', default: '', help: 'Scratch directory (default: the OS temp dir)' },
  orchestratorUrl: { env: 'SEGMINT_ORCHESTRATOR_URL', flag: '--orchestrator', default: 'http://127.0.0.1:8935', help: 'Orchestrator to register with' },
  pricePerPixel: { env: 'SEGMINT_PRICE_PER_PIXEL', flag: '--price', default: '1000', help: 'Ask in wei per output pixel' },
  key: { env: 'SEGMINT_WORKER_KEY', flag: '--key', default: '', help: 'Ethereum private key (0x…) or a file holding one (default ~/.segmint/worker-key, created once)' },
  chainRpcUrl: { env: 'CHAIN_RPC_URL', flag: '--chain-rpc-url', default: '', help: 'EVM JSON-RPC URL (for `worker stake` and the stake in `worker status`)' },
  stakingManager: { env: 'SEGMINT_STAKING_MANAGER', flag: '--staking-manager', default: '', help: 'StakingManager contract address' },
  testDelayMs: { env: 'SEGMINT_WORKER_TEST_DELAY_MS', flag: '--test-delay-ms', default: '0', help: 'Test only: sleep before each segment (a slow worker)' },
  ffmpegPath: { env: 'FFMPEG_PATH', flag: '--ffmpeg', default: '', help: 'ffmpeg binary (default: the static build from @ffmpeg-installer/ffmpeg)' },
} as const;
