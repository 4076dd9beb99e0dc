/** Errors the HTTP layer turns into the provider's `{status: "error", message}` shape, by class. */
export class EngineHttpError extends Error {
  constructor(
    readonly httpStatus: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}
export class InvalidRequestError extends EngineHttpError {
  override readonly name = 'InvalidRequestError';
  constructor(message: string) {
    super(400, message);
  }
}
export class InvalidKeyError extends EngineHttpError {
  override readonly name = 'InvalidKeyError';
  constructor() {
    super(401, 'Invalid API key: key does not match ENGINE_API_KEY');
  }
}
export class UnknownRequestIdError extends EngineHttpError {
  override readonly name = 'UnknownRequestIdError';
  constructor(id: string) {
    super(404, `No request with id ${id} (unknown, or expired)`);
  }
}
export class QueueFullError extends EngineHttpError {
  override readonly name = 'QueueFullError';
  constructor(readonly retryAfterSeconds: number, queued: number) {
    super(429, `Rate limit exceeded: the engine queue is full (${queued} images accepted and not finished); retry after ${retryAfterSeconds} s`, {
      retry_after: retryAfterSeconds,
    });
  }
}
export class EngineNotReadyError extends EngineHttpError {
  override readonly name = 'EngineNotReadyError';
  constructor(message: string) {
    super(503, message);
  }
}
