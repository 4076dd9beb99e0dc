import { ArgumentsHost, Catch, HttpException, NotFoundException, type ExceptionFilter } from '@nestjs/common';
import type { Request, Response } from 'express';
import { ApiErrorCode, FACADE_PATH_PREFIX, facadeError } from '../../../../libs/contracts/src/index.js';
import type { Logger } from '../../../../libs/config/src/index.js';
import { ApiError } from './api-error.js';
import { allowedMethods } from './allowed-methods.js';

const STATUS_CODES: Record<number, ApiErrorCode> = {
  400: ApiErrorCode.ValidationFailed,
  401: ApiErrorCode.Unauthorized,
  404: ApiErrorCode.NotFound,
  413: ApiErrorCode.PayloadTooLarge,
  405: ApiErrorCode.MethodNotAllowed,
  415: ApiErrorCode.UnsupportedMediaType,
  429: ApiErrorCode.RateLimited,
};

/** Every error leaves in one shape; internal errors are logged, never echoed (no secrets in answers). */
export function toErrorBody(err: unknown, logger: Logger): { status: number; body: unknown } {
  if (err instanceof ApiError) return { status: err.getStatus(), body: err.getResponse() };
  if (err instanceof HttpException) {
    const status = err.getStatus();
    const code = STATUS_CODES[status] ?? (status < 500 ? ApiErrorCode.ValidationFailed : ApiErrorCode.Internal);
    const message = status === 413 ? 'the request body or uploaded file is over the size limit' : status === 404 ? 'no such resource' : err.message;
    return { status, body: { error: { code, message } } };
  }
  const bodyParser = err as { type?: string; status?: number; limit?: number };
  if (bodyParser?.type === 'entity.too.large') {
    return { status: 413, body: { error: { code: ApiErrorCode.PayloadTooLarge, message: `the request body is over the limit of ${bodyParser.limit} bytes` } } };
  }
  if (bodyParser?.type === 'entity.parse.failed') {
    return { status: 400, body: { error: { code: ApiErrorCode.InvalidJson, message: 'the request body is not valid JSON' } } };
  }
  if (typeof bodyParser?.status === 'number' && bodyParser.status >= 400 && bodyParser.status < 500) {
    return { status: bodyParser.status, body: { error: { code: STATUS_CODES[bodyParser.status] ?? ApiErrorCode.ValidationFailed, message: 'the request could not be read' } } };
  }
  logger.error({ err }, 'unhandled error');
  return { status: 500, body: { error: { code: ApiErrorCode.Internal, message: 'internal error' } } };
}

@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  constructor(private readonly logger: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    if (exception instanceof NotFoundException && exception.message.startsWith('Cannot ')) {
      // No route matched: 405 with Allow when the path exists under another method.
      const req = host.switchToHttp().getRequest<Request>();
      const allow = allowedMethods(req);
      if (req.path.startsWith(FACADE_PATH_PREFIX) && !res.headersSent) {
        // The ModelsLab-compatible facade keeps the provider's error shape.
        if (allow.length > 0) res.setHeader('Allow', allow.join(', '));
        res.status(allow.length > 0 ? 405 : 404).json(facadeError(allow.length > 0 ? `Use ${allow.join(', ')} for this endpoint.` : 'Endpoint not found.'));
        return;
      }
      if (allow.length > 0 && !res.headersSent) {
        res.setHeader('Allow', allow.join(', '));
        res.status(405).json({ error: { code: ApiErrorCode.MethodNotAllowed, message: `${req.method} is not allowed here; use ${allow.join(', ')}`, details: { allow } } });
        return;
      }
      if (!res.headersSent) res.status(404).json({ error: { code: ApiErrorCode.NotFound, message: 'no such route' } });
      return;
    }
    const { status, body } = toErrorBody(exception, this.logger);
    if (!res.headersSent) res.status(status).json(body);
  }
}
