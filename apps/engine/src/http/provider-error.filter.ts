/** Every error leaves the engine in the provider's shape `{status: "error", message}` (plus retry_after on 429). */
import { ArgumentsHost, Catch, HttpException, type ExceptionFilter } from '@nestjs/common';
import type { Response } from 'express';
import type { Logger } from 'pino';
import { BadImageError } from '../image/decode-image.js';
import { EngineHttpError, QueueFullError } from './engine-errors.js';

@Catch()
export class ProviderErrorFilter implements ExceptionFilter {
  constructor(private readonly log: Logger) {}

  catch(err: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    let status = 500;
    let body: Record<string, unknown> = { status: 'error', message: 'internal error' };
    if (err instanceof EngineHttpError) {
      status = err.httpStatus;
      body = { status: 'error', message: err.message, ...err.extra };
      if (err instanceof QueueFullError) res.setHeader('retry-after', String(err.retryAfterSeconds));
    } else if (err instanceof BadImageError) {
      status = 400;
      body = { status: 'error', message: err.message };
    } else if (err instanceof HttpException) {
      status = err.getStatus();
      body = { status: 'error', message: status === 404 ? 'Not found' : err.message };
    } else {
      this.log.error({ err }, 'unhandled error');
    }
    res.status(status).json(body);
  }
}
