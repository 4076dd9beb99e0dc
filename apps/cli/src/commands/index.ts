/** Every `maskflow` subcommand. Add a command by adding it here. */
import type { CliCommand } from '../command.js';
import { keysCreate, keysList, keysRevoke } from './keys.command.js';
import { results } from './results.command.js';
import { status } from './status.command.js';
import { submit } from './submit.command.js';

export const COMMANDS: CliCommand[] = [submit, status, results, keysCreate, keysList, keysRevoke];
