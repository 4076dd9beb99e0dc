#!/usr/bin/env node
/**
 * `maskflow <command> [args]`: the command a person types. Commands live in commands/ and are found by
 * their words (`keys create`); `maskflow help` lists them.
 */
import { ConfigError, loadConfig, type AppConfig } from '../../../libs/config/src/index.js';
import { EXIT, UsageError, type CliCommand, type CliContext } from './command.js';
import { COMMANDS } from './commands/index.js';

function findCommand(argv: string[]): { command: CliCommand; args: string[] } | undefined {
  const matches = COMMANDS.filter((c) => c.path.every((word, i) => argv[i] === word)).sort((a, b) => b.path.length - a.path.length);
  const command = matches[0];
  return command ? { command, args: argv.slice(command.path.length) } : undefined;
}

function help(ctx: CliContext, prefix: string[] = []): void {
  ctx.out('usage: maskflow <command> [options]\n');
  for (const c of COMMANDS.filter((c) => prefix.every((w, i) => c.path[i] === w))) ctx.out(`  ${c.usage}\n      ${c.summary}`);
}

export async function runCli(argv: string[], ctx: Omit<CliContext, 'config'> & { config?: () => AppConfig }): Promise<number> {
  let config: AppConfig | undefined;
  const full: CliContext = { out: ctx.out, err: ctx.err, config: ctx.config ?? (() => (config ??= loadConfig())) };
  if (argv.length === 0 || argv[0] === 'help' || argv[0] === '--help' || argv[0] === '-h') {
    help(full, argv.slice(1));
    return argv.length === 0 ? EXIT.usage : EXIT.ok;
  }
  const found = findCommand(argv);
  if (!found) {
    full.err(`maskflow: unknown command "${argv.join(' ')}"`);
    help({ ...full, out: full.err }, argv.slice(0, 1));
    return EXIT.usage;
  }
  if (found.args.includes('--help') || found.args.includes('-h')) {
    full.out(`usage: ${found.command.usage}\n  ${found.command.summary}`);
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
    full.err(`maskflow: ${(err as Error).message}`);
    return EXIT.failure;
  }
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (invokedDirectly) {
  runCli(process.argv.slice(2), { out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`) }).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`maskflow: ${(err as Error).message}\n`);
      process.exit(EXIT.failure);
    },
  );
}
