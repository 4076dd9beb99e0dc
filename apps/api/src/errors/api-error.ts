import { HttpException } from '@nestjs/common';
import type { ApiErrorCode, FieldIssue } from '../../../../libs/contracts/src/index.js';

/** An error answer with a machine-readable code: `{error: {code, message, details?}}`. */
export class ApiError extends HttpException {
  constructor(
    status: number,
    readonly code: ApiErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super({ error: { code, message, ...(details !== undefined ? { details } : {}) } }, status);
  }

  /** 422 (or 400 for structural problems) listing every field issue; the first one names the code. */
  static fromIssues(issues: FieldIssue[]): ApiError {
    const first = issues[0]!;
    const structural = first.code === 'invalid_type' || first.code === 'unknown_field' || first.code === 'invalid_json';
    return new ApiError(structural ? 400 : 422, first.code, first.message, issues);
  }
}
