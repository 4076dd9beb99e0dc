/**
 * What every log line inside a unit of work carries without passing it around: the api binds `requestId`
 * per HTTP request, the worker binds `jobId`/`trackId` (or `deliveryId`) per queue job. The root logger
 * merges the current bindings into each line (pino mixin); fields given at the call win.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export type LogBindings = Record<string, string | undefined>;

export const logContext = new AsyncLocalStorage<LogBindings>();

/** Runs `fn` with `bindings` added to the current ones (undefined values are dropped). */
export function withLogContext<T>(bindings: LogBindings, fn: () => T): T {
  const merged: LogBindings = { ...logContext.getStore() };
  for (const [k, v] of Object.entries(bindings)) if (v !== undefined) merged[k] = v;
  return logContext.run(merged, fn);
}

export function currentLogBindings(): LogBindings {
  return logContext.getStore() ?? {};
}
