import { pino, type Logger } from 'pino';

/**
 * Structured logs. Bindings carry jobId / trackId / requestId; redaction keeps keys, secrets and presigned
 * signatures out of the output.
 */
const root = pino({
  // Read here (not through AppConfig) because loggers exist before the config is parsed; the schema checks it too.
  level: process.env.LOG_LEVEL || 'info',
  redact: {
      paths: ['key', '*.key', 'apiKey', '*.apiKey', 'authorization', '*.authorization', 'headers.authorization', 'secretAccessKey', '*.secretAccessKey', 'webhookToken', '*.webhookToken', 'webhook', '*.webhook'],
      censor: '[redacted]',
  },
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
