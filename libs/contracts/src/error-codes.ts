/** Machine-readable error codes. API errors answer `{error: {code, message, details?}}`. */
export const ApiErrorCode = {
  ValidationFailed: 'validation_failed',
  ImageMissing: 'image_missing',
  ImageAmbiguous: 'image_ambiguous',
  InvalidUrl: 'invalid_url',
  UnsupportedUrlScheme: 'unsupported_url_scheme',
  InvalidBase64: 'invalid_base64',
  ImageTooLarge: 'image_too_large',
  OptionOutOfRange: 'option_out_of_range',
  UnknownOption: 'unknown_option',
  UnknownField: 'unknown_field',
  InvalidType: 'invalid_type',
  InvalidJson: 'invalid_json',
  PayloadTooLarge: 'payload_too_large',
  UnsupportedMediaType: 'unsupported_media_type',
  Unauthorized: 'unauthorized',
  NotFound: 'not_found',
  InvalidState: 'invalid_state',
  InvalidCursor: 'invalid_cursor',
  IdempotencyKeyReused: 'idempotency_key_reused',
  InvalidIdempotencyKey: 'invalid_idempotency_key',
  UnknownEventType: 'unknown_event_type',
  MethodNotAllowed: 'method_not_allowed',
  RateLimited: 'rate_limited',
  Forbidden: 'forbidden',
  // Batches (POST /v1/batches)
  BatchEmpty: 'batch_empty',
  BatchTooLarge: 'batch_too_large',
  BatchRejected: 'batch_rejected',
  InvalidCsv: 'invalid_csv',
  LineTooLong: 'line_too_long',
  NotAcceptable: 'not_acceptable',
  // GET /health/ready when a dependency is down (503)
  NotReady: 'not_ready',
  Internal: 'internal_error',
} as const;
export type ApiErrorCode = (typeof ApiErrorCode)[keyof typeof ApiErrorCode];

/** Why a job failed (job.error.code). */
export const JobErrorCode = {
  ProviderBadRequest: 'provider_bad_request',
  ProviderUnauthorized: 'provider_unauthorized',
  ProviderPaymentRequired: 'provider_payment_required',
  ProviderForbidden: 'provider_forbidden',
  ProviderFailed: 'provider_failed',
  ProviderUnavailable: 'provider_unavailable',
  ProviderResultTimeout: 'provider_result_timeout',
  ProviderInvalidAnswer: 'provider_invalid_answer',
  OutputDownloadFailed: 'output_download_failed',
  OutputTooLarge: 'output_too_large',
  StorageFailed: 'storage_failed',
  InputMissing: 'input_missing',
} as const;
export type JobErrorCode = (typeof JobErrorCode)[keyof typeof JobErrorCode];
