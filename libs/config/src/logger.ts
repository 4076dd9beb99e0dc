import { pino, type Logger } from 'pino';
import { currentLogBindings } from './log-context.js';
import { scrubSecrets } from './log-scrubber.js';

/**
 * Structured logs (JSON lines on stdout). Every line carries the bindings of the unit of work it belongs to
 * (requestId in the api, jobId / trackId in the worker: see log-context.ts); redaction paths drop known
 * secret fields, and every line is scrubbed of secret-shaped strings and configured secret values.
 */
const root = pino({
  // Read here (not through AppConfig) because loggers exist before the config is parsed; the schema checks it too.
  level: process.env.LOG_LEVEL || 'info',
  redact: {
    paths: ['key', '*.key', 'apiKey', '*.apiKey', 'authorization', '*.authorization', 'headers.authorization', 'secretAccessKey', '*.secretAccessKey', 'webhookToken', '*.webhookToken', 'webhook', '*.webhook', 'secret', '*.secret'],
    censor: '[redacted]',
  },
  mixin: () => currentLogBindings(),
  hooks: { streamWrite: scrubSecrets },
});

export function createLogger(name: string, level?: string): Logger {
  const child = root.child({ name });
  if (level) child.level = level;
  return child;
}

/** Drops the query string (presigned signatures) and any path token from a URL before it is logged. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.search = u.search ? '?[redacted]' : '';
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return '[unparseable url]';
  }
}
export type { Logger };
