/** What a `maskflow` subcommand is: a name, a one-line summary, a usage line and a run function. */
import type { CliClientConfig } from '../../../libs/config/src/cli-client.config.js';
import type { AppConfig } from '../../../libs/config/src/config.schema.js';

export interface CliContext {
  /** Parsed lazily: `maskflow help` works without a valid environment. */
  config(): AppConfig;
  /** MASKFLOW_API_URL / MASKFLOW_API_KEY, for the commands that call the HTTP API. */
  clientConfig(): CliClientConfig;
  out(line: string): void;
  err(line: string): void;
  /** Aborted on the first Ctrl-C / SIGTERM for commands marked `interruptible`. */
  signal: AbortSignal;
}

export interface CliCommand {
  /** Words after `maskflow`, e.g. ['keys', 'create']. */
  path: string[];
  summary: string;
  usage: string;
  /** Longer help shown by `maskflow <command> --help`. */
  details?: string;
  /** Handles SIGINT/SIGTERM itself through `ctx.signal` (saves its state, exits 130). */
  interruptible?: boolean;
  run(args: string[], ctx: CliContext): Promise<number>;
}

/** A wrong invocation (bad arguments, a missing folder, an unreadable or invalid CSV): exit code 2. */
export class UsageError extends Error {}

/** The exit codes of every command (also printed by `maskflow --help`). */
export const EXIT = { ok: 0, failure: 1, usage: 2, api: 3, config: 78, interrupted: 130 } as const;

export const EXIT_CODES_HELP = [
  'exit codes:',
  '  0    everything done',
  '  1    some items failed (the summary lists them), or the thing asked for does not exist',
  '  2    usage error: bad arguments, a missing folder, an unreadable or invalid CSV/NDJSON (with line numbers)',
  '  3    API, authentication or network error',
  '  78   invalid environment (keys commands)',
  '  130  interrupted (Ctrl-C, SIGTERM): re-run the same command to resume',
].join('\n');
