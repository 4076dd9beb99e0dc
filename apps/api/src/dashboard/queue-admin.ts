/**
 * bull-board at /admin/queues for operators: every maskflow queue, its jobs, retries and failures. Behind
 * the admin key (HTTP Basic with any user name and ADMIN_API_KEY as the password, so a browser can open it,
 * or `Authorization: Bearer <ADMIN_API_KEY>`); off, with a clear 403, while ADMIN_API_KEY is not set.
 */
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { NextFunction, Request, Response } from 'express';
import type { AppConfig } from '../../../../libs/config/src/index.js';
import { ALL_JOB_NAMES, ApiErrorCode } from '../../../../libs/contracts/src/index.js';
import { QueueService } from '../../../../libs/queue/src/index.js';
import { adminKeyMatcher } from '../access/admin-key.guard.js';

export const QUEUE_ADMIN_PATH = '/admin/queues';

/** The secret a request presents: the Basic password or the Bearer token. */
function presented(header: string | undefined): string | null {
  if (!header) return null;
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (bearer) return bearer[1]!;
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!basic) return null;
  const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? null : decoded.slice(colon + 1);
}

function adminOnly(adminKey: string | undefined) {
  const matches = adminKeyMatcher(adminKey);
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!matches) {
      res.status(403).json({ error: { code: ApiErrorCode.Forbidden, message: 'the queue admin is off: set ADMIN_API_KEY to use it', details: null } });
      return;
    }
    const secret = presented(req.headers.authorization);
    if (secret !== null && matches(secret)) return next();
    res
      .status(401)
      .set('www-authenticate', 'Basic realm="maskflow queue admin", charset="UTF-8"')
      .json({ error: { code: ApiErrorCode.Unauthorized, message: 'the queue admin needs the admin key (HTTP Basic password or Bearer)', details: null } });
  };
}

export function mountQueueAdmin(app: NestExpressApplication, config: AppConfig): void {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(QUEUE_ADMIN_PATH);
  const queues = app.get(QueueService);
  createBullBoard({ queues: ALL_JOB_NAMES.map((name) => new BullMQAdapter(queues.queue(name))), serverAdapter, options: { uiConfig: { boardTitle: 'maskflow queues' } } });
  app.use(QUEUE_ADMIN_PATH, adminOnly(config.access.adminApiKey), serverAdapter.getRouter());
}
