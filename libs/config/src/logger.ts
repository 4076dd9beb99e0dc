import { pino, type Logger } from 'pino';

/**
 * Structured logs. Bindings carry jobId / trackId / requestId; redaction keeps keys, secrets and presigned
 * signatures out of the output.
 */
export function createLogger(name: string, level = 'info'): Logger {
  return pino({
    name,
    level,
    redact: {
      paths: ['key', '*.key', 'apiKey', '*.apiKey', 'authorization', '*.authorization', 'headers.authorization', 'secretAccessKey', '*.secretAccessKey', 'webhookToken', '*.webhookToken', 'webhook', '*.webhook'],
      censor: '[redacted]',
    },
  });
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
