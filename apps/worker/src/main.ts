import { ConfigError, createLogger, loadConfig } from '../../../libs/config/src/index.js';
import { migrateDeploy } from '../../../libs/db/src/index.js';
import { createWorkerApp } from './worker.app.js';

const log = createLogger('worker');

async function main(): Promise<void> {
  const config = loadConfig();
  if (config.migrateOnStart) await migrateDeploy(config.databaseUrl);
  // Our own signal handling: Nest's shutdown hooks re-raise the signal after closing, so the process would
  // end "killed by SIGTERM"; a worker that drained cleanly exits 0 (a second signal exits at once).
  const app = await createWorkerApp(config, { shutdownHooks: false });
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(130);
    stopping = true;
    log.info({ signal }, 'stopping');
    app.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'worker did not stop cleanly');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
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
