/**
 * What the `maskflow` client commands (submit, status, results) read from the environment: where the API is
 * and the key to call it with. Flags (`--api-url`, `--api-key`) win over these. The server's own variables
 * are not needed on a client machine, so this is parsed apart from loadConfig().
 */
import { z } from 'zod';
import { ConfigError, DEV_API_KEY } from './config.schema.js';

export const DEFAULT_CLI_API_URL = 'http://127.0.0.1:3000';

const schema = z.object({
  MASKFLOW_API_URL: z.url({ protocol: /^https?$/ }).default(DEFAULT_CLI_API_URL),
  MASKFLOW_API_KEY: z.string().min(1).default(DEV_API_KEY),
});

export interface CliClientConfig {
  apiUrl: string;
  apiKey: string;
}

export function loadCliClientConfig(source: Record<string, string | undefined> = process.env): CliClientConfig {
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse({ MASKFLOW_API_URL: cleaned.MASKFLOW_API_URL, MASKFLOW_API_KEY: cleaned.MASKFLOW_API_KEY });
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`));
  return { apiUrl: parsed.data.MASKFLOW_API_URL.replace(/\/+$/, ''), apiKey: parsed.data.MASKFLOW_API_KEY };
}
