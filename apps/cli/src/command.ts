/** What a `maskflow` subcommand is: a name, a one-line summary, a usage line and a run function. */
import type { AppConfig } from '../../../libs/config/src/index.js';

export interface CliContext {
  /** Parsed lazily: `maskflow help` works without a valid environment. */
  config(): AppConfig;
  out(line: string): void;
  err(line: string): void;
}

export interface CliCommand {
  /** Words after `maskflow`, e.g. ['keys', 'create']. */
  path: string[];
  summary: string;
  usage: string;
  run(args: string[], ctx: CliContext): Promise<number>;
}

/** A wrong invocation: printed with the command's usage, exit code 64 (EX_USAGE). */
export class UsageError extends Error {}

export const EXIT = { ok: 0, failure: 1, usage: 64, config: 78 } as const;
