/**
 * Request ids and the access log. `assignRequestId` (first middleware) takes X-Request-Id when it is a sane
 * token (else makes a UUID), echoes it in the answer's X-Request-Id, and logs one line per request when the
 * answer is finished (method, path without query or tokens, status, ms). `bindRequestLogContext` (after the
 * body parser, whose callbacks leave the async context) puts it in the log context of everything the request
 * runs, so service and repository logs carry it too.
 */
import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { createLogger, withLogContext, type Logger } from '../../../../libs/config/src/index.js';
import type { PipelineMetrics } from '../../../../libs/metrics/src/index.js';

const REQUEST_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;
/** Scrapes and probes are logged at debug, so they do not drown the access log. */
const QUIET_PATHS = /^\/(health\/|metrics$)/;

export interface RequestWithId extends Request {
  requestId: string;
}

/** The path as logged: no query string, the provider webhook's per-attempt token replaced. */
export function loggablePath(path: string): string {
  return path.replace(/^(\/webhooks\/modelslab\/[^/]+\/)[^/]+/, '$1[redacted]');
}

/** The matched route's pattern (bounded label values), never the raw path. */
function routeOf(req: Request): string {
  const pattern = (req.route as { path?: unknown } | undefined)?.path;
  return typeof pattern === 'string' ? `${req.baseUrl}${pattern}` : 'unmatched';
}

export function assignRequestId(logger: Logger = createLogger('api.http'), metrics?: PipelineMetrics) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const given = req.get('x-request-id');
    const requestId = given && REQUEST_ID_RE.test(given) ? given : randomUUID();
    (req as RequestWithId).requestId = requestId;
    res.setHeader('X-Request-Id', requestId);
    const started = process.hrtime.bigint();
    res.once('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const line = { requestId, method: req.method, path: loggablePath(req.path), status: res.statusCode, ms: Math.round(seconds * 1000) };
      if (metrics) {
        const route = routeOf(req);
        metrics.httpRequests.inc({ method: req.method, route, status: String(res.statusCode) });
        metrics.httpDuration.observe({ method: req.method, route }, seconds);
      }
      if (QUIET_PATHS.test(req.path)) logger.debug(line, 'request');
      else logger.info(line, 'request');
    });
    withLogContext({ requestId }, next);
  };
}

export function bindRequestLogContext(req: Request, _res: Response, next: NextFunction): void {
  withLogContext({ requestId: (req as RequestWithId).requestId }, next);
}
