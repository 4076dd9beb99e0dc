/** What can go wrong talking to the maskflow API, as classes (exit code 3 for all but item-level answers). */

/** The API could not be used: unreachable, refused the key, answered 5xx after retries, or made no sense. */
export class ApiCallError extends Error {
  constructor(
    message: string,
    readonly status: number | null,
    readonly code: string | null,
  ) {
    super(message);
    this.name = 'ApiCallError';
  }
}

/** A 4xx about one request (validation, not found, conflict): the caller decides what it means. */
export class ApiRequestRefused extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown,
  ) {
    super(message);
    this.name = 'ApiRequestRefused';
  }
}

/** The run was interrupted (Ctrl-C / SIGTERM) while a request was under way. */
export class InterruptedError extends Error {
  constructor() {
    super('interrupted');
    this.name = 'InterruptedError';
  }
}
