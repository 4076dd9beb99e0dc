import { ConfigError, createLogger, loadConfig } from '../../../libs/config/src/index.js';
import { migrateDeploy } from '../../../libs/db/src/index.js';
import { createWorkerApp } from './worker.app.js';

const log = createLogger('worker');

async function main(): Promise<void> {
  const config = loadConfig();
  if (config.migrateOnStart) await migrateDeploy(config.databaseUrl);
  await createWorkerApp(config);
  log.info({ provider: config.provider.kind, baseUrl: config.provider.baseUrl, webhooks: config.publicBaseUrl ? 'on' : 'off (polling)' }, 'worker ready');
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(78);
  }
  log.fatal({ err }, 'worker failed to start');
  process.exit(1);
});
