import { ArgumentsHost, Catch, HttpException, type ExceptionFilter } from '@nestjs/common';
import type { Response } from 'express';
import { createLogger } from '../../../../libs/config/src/index.js';
import { facadeError } from '../../../../libs/contracts/src/index.js';

const log = createLogger('api.facade');

/** An error the facade answers in the provider's shape: `{status: 'error', message, ...extra}`. */
export class FacadeError extends HttpException {
  constructor(status: number, message: string, extra: Record<string, unknown> = {}) {
    super(facadeError(message, extra), status);
  }
}

/** The facade is the one place errors look like ModelsLab's, not `{error: {code, ...}}`. */
@Catch()
export class FacadeExceptionFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    if (res.headersSent) return;
    const { status, body } = facadeErrorBody(exception);
    res.status(status).json(body);
  }
}

export function facadeErrorBody(err: unknown): { status: number; body: unknown } {
  if (err instanceof FacadeError) return { status: err.getStatus(), body: err.getResponse() };
  const e = err as { type?: string; status?: number };
  if (e?.type === 'entity.parse.failed') return { status: 400, body: facadeError('The request body is not valid JSON.') };
  if (e?.type === 'entity.too.large') return { status: 413, body: facadeError('The request body is too large.') };
  if (err instanceof HttpException && err.getStatus() < 500) return { status: err.getStatus(), body: facadeError(err.message) };
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) return { status: e.status, body: facadeError('The request could not be read.') };
  log.error({ err }, 'unhandled error in the facade');
  return { status: 500, body: facadeError('Internal server error.') };
}
