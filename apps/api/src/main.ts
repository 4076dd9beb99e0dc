import { ConfigError, createLogger, loadConfig } from '../../../libs/config/src/index.js';
import { migrateDeploy } from '../../../libs/db/src/index.js';
import { createApiApp } from './api.app.js';

const log = createLogger('api');

async function main(): Promise<void> {
  const config = loadConfig();
  if (config.usingDevApiKey) log.warn('API_KEYS is not set: accepting the development key "maskflow-dev-key"');
  if (config.migrateOnStart) {
    const applied = await migrateDeploy(config.databaseUrl);
    if (applied.length > 0) log.info({ applied }, 'migrations applied');
  }
  const app = await createApiApp(config);
  await app.listen(config.http.port, config.http.host);
  log.info({ port: config.http.port, provider: config.provider.kind, webhooks: config.publicBaseUrl ? 'on' : 'off (polling)' }, 'api listening');
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(78);
  }
  log.fatal({ err }, 'api failed to start');
  process.exit(1);
});
