#!/usr/bin/env node
/**
 * `maskflow <command> [args]`: the command a person types. Commands live in commands/ and are found by
 * their words (`keys create`); `maskflow help` lists them. Exit codes: see EXIT in command.ts.
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
// The config files themselves, not libs/config's index (which brings NestJS and pino): the CLI starts fast.
import { loadCliClientConfig, type CliClientConfig } from '../../../libs/config/src/cli-client.config.js';
import { ConfigError, loadConfig, type AppConfig } from '../../../libs/config/src/config.schema.js';
import { EXIT, EXIT_CODES_HELP, UsageError, type CliCommand, type CliContext } from './command.js';
import { ApiCallError } from './client/api-errors.js';
import { COMMANDS } from './commands/index.js';

function findCommand(argv: string[]): { command: CliCommand; args: string[] } | undefined {
  const matches = COMMANDS.filter((c) => c.path.every((word, i) => argv[i] === word)).sort((a, b) => b.path.length - a.path.length);
  const command = matches[0];
  return command ? { command, args: argv.slice(command.path.length) } : undefined;
}

function help(ctx: Pick<CliContext, 'out'>, prefix: string[] = []): void {
  ctx.out('usage: maskflow <command> [options]\n');
  for (const c of COMMANDS.filter((c) => prefix.every((w, i) => c.path[i] === w))) ctx.out(`  ${c.usage}\n      ${c.summary}`);
  ctx.out(`\n'maskflow <command> --help' shows a command's options.\n\n${EXIT_CODES_HELP}`);
}

type RunContext = Pick<CliContext, 'out' | 'err'> & { config?: () => AppConfig; clientConfig?: () => CliClientConfig; signal?: AbortSignal };

export async function runCli(argv: string[], ctx: RunContext): Promise<number> {
  let config: AppConfig | undefined;
  let clientConfig: CliClientConfig | undefined;
  const full: CliContext = {
    out: ctx.out,
    err: ctx.err,
    config: ctx.config ?? (() => (config ??= loadConfig())),
    clientConfig: ctx.clientConfig ?? (() => (clientConfig ??= loadCliClientConfig())),
    signal: ctx.signal ?? new AbortController().signal,
  };
  if (argv.length === 0 || argv[0] === 'help' || argv[0] === '--help' || argv[0] === '-h') {
    help(full, argv.slice(1));
    return argv.length === 0 ? EXIT.usage : EXIT.ok;
  }
  const found = findCommand(argv);
  if (!found) {
    full.err(`maskflow: unknown command "${argv.join(' ')}"`);
    help({ out: full.err }, argv.slice(0, 1));
    return EXIT.usage;
  }
  if (found.args.includes('--help') || found.args.includes('-h')) {
    full.out(`usage: ${found.command.usage}\n  ${found.command.summary}${found.command.details ? `\n\n${found.command.details}` : ''}\n\n${EXIT_CODES_HELP}`);
    return EXIT.ok;
  }
  try {
    return await found.command.run(found.args, full);
  } catch (err) {
    if (err instanceof UsageError) {
      full.err(`maskflow: ${err.message}\nusage: ${found.command.usage}`);
      return EXIT.usage;
    }
    if (err instanceof ConfigError) {
      full.err(err.message);
      return EXIT.config;
    }
    if (err instanceof ApiCallError) {
      full.err(`maskflow: ${err.message}`);
      return EXIT.api;
    }
    full.err(`maskflow: ${(err as Error).message}`);
    return EXIT.failure;
  }
}

// Run as a program (also through a symlink: npx, node_modules/.bin), not when imported by a test.
const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href;
if (invokedDirectly) {
  const argv = process.argv.slice(2);
  const interrupt = new AbortController();
  if (findCommand(argv)?.command.interruptible) {
    // First signal: the command stops, saves its state and exits 130. A second one exits at once.
    const onSignal = () => {
      if (interrupt.signal.aborted) process.exit(EXIT.interrupted);
      interrupt.abort();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  runCli(argv, { out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`), signal: interrupt.signal }).then(
    (code) => {
      // Let stdout drain (a pipe may be slow) before exiting.
      process.exitCode = code;
      setImmediate(() => process.exit(code));
    },
    (err: unknown) => {
      process.stderr.write(`maskflow: ${(err as Error).message}\n`);
      process.exit(EXIT.failure);
    },
  );
}
