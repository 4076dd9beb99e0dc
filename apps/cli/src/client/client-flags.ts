/** The flags every API-calling command takes (`--api-url`, `--api-key`), over MASKFLOW_API_URL / MASKFLOW_API_KEY. */
import { parseArgs } from 'node:util';
import { UsageError, type CliContext } from '../command.js';
import { MaskflowApiClient } from './maskflow-api.client.js';

export const CLIENT_FLAGS = { 'api-url': { type: 'string' }, 'api-key': { type: 'string' } } as const;

export const CLIENT_FLAGS_HELP = [
  '  --api-url <url>      the maskflow API (default: $MASKFLOW_API_URL, else http://127.0.0.1:3000)',
  '  --api-key <key>      the API key (default: $MASKFLOW_API_KEY, else the development key)',
].join('\n');

type Flags = Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }>;

/** parseArgs, with every mistake as a UsageError (exit 2). */
export function parseFlags<F extends Flags>(args: string[], flags: F, positionals: { min: number; max: number; what: string }) {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { ...CLIENT_FLAGS, ...flags }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (parsed.positionals.length < positionals.min) throw new UsageError(`missing ${positionals.what}`);
  if (parsed.positionals.length > positionals.max) throw new UsageError(`unexpected argument(s): ${parsed.positionals.slice(positionals.max).join(' ')}`);
  return parsed as { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] };
}

export function clientFromFlags(values: Record<string, unknown>, ctx: CliContext, retryForMs?: number): MaskflowApiClient {
  const env = ctx.clientConfig();
  const apiUrl = ((values['api-url'] as string | undefined) ?? env.apiUrl).replace(/\/+$/, '');
  try {
    const u = new URL(apiUrl);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http');
  } catch {
    throw new UsageError(`--api-url must be an http(s) URL (got "${apiUrl}")`);
  }
  return new MaskflowApiClient({ apiUrl, apiKey: (values['api-key'] as string | undefined) ?? env.apiKey, signal: ctx.signal, retryForMs });
}

/** A positive integer flag, or a UsageError naming it. */
export function intFlag(values: Record<string, unknown>, name: string, fallback: number, min: number, max: number): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be an integer from ${min} to ${max} (got "${String(raw)}")`);
  return n;
}
