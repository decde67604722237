import { pino } from 'pino';
import { ConfigError, loadOrchestratorConfig, ORCHESTRATOR_KNOBS } from './config.js';
import { startOrchestrator } from './orchestrator.js';

const USAGE = `usage: segmint orchestrator start [flags]\n${Object.values(ORCHESTRATOR_KNOBS)
  .map((k) => `  ${k.flag.padEnd(20)} ${k.env.padEnd(26)} ${k.help} (default: ${k.default || 'see help'})`)
  .join('\n')}\n\n  segmint orchestrator api-key NAME   create an API key (printed once)`;

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  const config = loadOrchestratorConfig(rest);
  if (command === 'start') {
    const logger = pino({ name: 'orchestrator', level: config.logLevel });
    const orch = await startOrchestrator(config, { logger });
    logger.info({ url: orch.url, dataDir: config.dataDir, database: orch.db.kind }, 'orchestrator started');
    const stop = async () => {
      await orch.close();
      process.exit(0);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  } else if (command === 'api-key') {
    const { openDatabase } = await import('./db/database.js');
    const { ApiKeyStore } = await import('./auth/apiKeys.js');
    const { join } = await import('node:path');
    const db = await openDatabase({ url: config.databaseUrl, dataDir: join(config.dataDir, 'pglite') });
    const { token } = await new ApiKeyStore(db).create(rest.find((a) => !a.startsWith('--')) ?? 'cli');
    console.log(token);
    await db.close();
  } else {
    console.error(USAGE);
    process.exit(command === undefined || command === '--help' ? 0 : 2);
  }
}

main(process.argv.slice(2)).catch((err) => {
  const hint = err instanceof ConfigError ? '' : ' (is Redis reachable at REDIS_URL? is the port free?)';
  console.error(`orchestrator failed: ${(err as Error).message}${hint}`);
  process.exit(1);
});
