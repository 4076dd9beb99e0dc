/**
 * Entry point of the self-hosted engine: `node dist/apps/engine/src/main.js`.
 * Reads the ENGINE_* environment (see engine.config.ts), serves the removebg_mask contract, stops on
 * SIGTERM/SIGINT after accepted images are finished.
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { loadEngineConfig } from './engine.config.js';
import { startEngine } from './start-engine.js';

export { loadEngineConfig } from './engine.config.js';
export { startEngine } from './start-engine.js';

async function main(): Promise<void> {
  const config = loadEngineConfig();
  const engine = await startEngine(config);
  const stop = (signal: string) => {
    process.stderr.write(`engine: ${signal}, finishing accepted images\n`);
    engine.close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`engine: close failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

/** Started as a program (not imported by a test or another app that calls startEngine itself). */
function isEntryPoint(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(entry)).href;
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  main().catch((err: unknown) => {
    process.stderr.write(`engine: failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
