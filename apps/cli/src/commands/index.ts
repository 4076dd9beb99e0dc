/** Every `maskflow` subcommand. Add a command by adding it here. */
import type { CliCommand } from '../command.js';
import { keysCreate, keysList, keysRevoke } from './keys.command.js';

export const COMMANDS: CliCommand[] = [keysCreate, keysList, keysRevoke];
