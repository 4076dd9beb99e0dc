/**
 * POST /v1/jobs request: validation with machine-readable codes and messages that name the field.
 * `options` uses the provider's own names and ranges (removebg_mask).
 */
import { z } from 'zod';
import { ApiErrorCode } from './error-codes.js';

export const removebgOptionsSchema = z
  .object({
    only_mask: z.boolean(),
    inverse_mask: z.boolean(),
    post_process_mask: z.boolean(),
    alpha_matting: z.boolean(),
    alpha_matting_foreground_threshold: z.int().min(0).max(240),
    alpha_matting_background_threshold: z.int().min(0).max(20),
    alpha_matting_erode_size: z.int().min(0).max(5),
    seed: z.int().min(0).max(2 ** 32 - 1),
  })
  .partial()
  .strict();
export type RemovebgOptions = z.infer<typeof removebgOptionsSchema>;

const MAX_TRACK_ID = 200;
const MAX_METADATA_BYTES = 16 * 1024;

export const createJobSchema = z
  .object({
    image_url: z.string().optional(),
    image_base64: z.string().optional(),
    options: removebgOptionsSchema.optional(),
    track_id: z.string().min(1).max(MAX_TRACK_ID).optional(),
    callback_url: z.string().optional(),
    metadata: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

export interface FieldIssue {
  field: string;
  code: ApiErrorCode;
  message: string;
}

export interface CreateJobInput {
  image: { kind: 'url'; url: string } | { kind: 'bytes'; bytes: Buffer };
  options: RemovebgOptions;
  trackId?: string;
  callbackUrl?: string;
  metadata?: Record<string, unknown>;
}

export type Validated<T> = { ok: true; value: T } | { ok: false; issues: FieldIssue[] };

const OPTION_KEYS = new Set(Object.keys(removebgOptionsSchema.shape));

function issueFromZod(issue: z.core.$ZodIssue): FieldIssue[] {
  const field = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    const inOptions = issue.path[0] === 'options';
    return issue.keys.map((key) => ({
      field: field ? `${field}.${key}` : key,
      code: inOptions ? ApiErrorCode.UnknownOption : ApiErrorCode.UnknownField,
      message: inOptions
        ? `options.${key} is not a removebg_mask option (allowed: ${[...OPTION_KEYS].join(', ')})`
        : `${field ? `${field}.` : ''}${key} is not a known field`,
    }));
  }
  if (issue.code === 'too_small' || issue.code === 'too_big') {
    const isOption = issue.path[0] === 'options';
    const bound = issue.code === 'too_small' ? `at least ${String(issue.minimum)}` : `at most ${String(issue.maximum)}`;
    return [
      {
        field,
        code: isOption ? ApiErrorCode.OptionOutOfRange : ApiErrorCode.ValidationFailed,
        message: issue.origin === 'string' ? `${field} must be ${bound} characters long` : `${field} must be ${bound}`,
      },
    ];
  }
  return [{ field: field || '(body)', code: ApiErrorCode.InvalidType, message: `${field || 'the body'}: ${issue.message}` }];
}

/** An http(s) URL with a host, or the issue that stops it. */
export function checkHttpUrl(field: string, value: string): FieldIssue | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { field, code: ApiErrorCode.InvalidUrl, message: `${field} is not a valid URL` };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { field, code: ApiErrorCode.UnsupportedUrlScheme, message: `${field} must use http or https, not ${url.protocol.replace(':', '')}` };
  }
  if (!url.hostname) return { field, code: ApiErrorCode.InvalidUrl, message: `${field} has no host` };
  if (url.username || url.password) {
    return { field, code: ApiErrorCode.InvalidUrl, message: `${field} must not carry credentials` };
  }
  return undefined;
}

const BASE64_RE = /^[A-Za-z0-9+/_-]*={0,2}$/;

/** Decodes standard or URL-safe base64, with or without a data: URI prefix. */
export function decodeBase64Image(field: string, value: string, maxBytes: number): Validated<Buffer> {
  const raw = value.startsWith('data:') ? value.slice(value.indexOf(',') + 1) : value;
  const compact = raw.replace(/\s+/g, '');
  if (compact.length === 0 || compact.length % 4 === 1 || !BASE64_RE.test(compact)) {
    return { ok: false, issues: [{ field, code: ApiErrorCode.InvalidBase64, message: `${field} is not valid base64` }] };
  }
  if (Math.floor((compact.length * 3) / 4) > maxBytes + 3) {
    return { ok: false, issues: [{ field, code: ApiErrorCode.ImageTooLarge, message: `${field} decodes to more than ${maxBytes} bytes` }] };
  }
  const bytes = Buffer.from(compact, compact.includes('-') || compact.includes('_') ? 'base64url' : 'base64');
  if (bytes.length === 0) return { ok: false, issues: [{ field, code: ApiErrorCode.InvalidBase64, message: `${field} is empty` }] };
  if (bytes.length > maxBytes) {
    return { ok: false, issues: [{ field, code: ApiErrorCode.ImageTooLarge, message: `${field} decodes to more than ${maxBytes} bytes` }] };
  }
  return { ok: true, value: bytes };
}

/**
 * Validates a JSON job request. `upload` is the image of a multipart request (then neither image_url nor
 * image_base64 may be given).
 */
export function parseCreateJob(body: unknown, limits: { maxImageBytes: number }, upload?: Buffer): Validated<CreateJobInput> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return { ok: false, issues: [{ field: '(body)', code: ApiErrorCode.InvalidType, message: 'the body must be a JSON object' }] };
  }
  const parsed = createJobSchema.safeParse(body);
  if (!parsed.success) return { ok: false, issues: parsed.error.issues.flatMap(issueFromZod) };
  const b = parsed.data;
  const issues: FieldIssue[] = [];

  const kinds = [b.image_url !== undefined, b.image_base64 !== undefined, upload !== undefined].filter(Boolean).length;
  if (kinds === 0) {
    issues.push({ field: 'image_url', code: ApiErrorCode.ImageMissing, message: 'give the image as image_url, image_base64 or a multipart file named image' });
  } else if (kinds > 1) {
    issues.push({ field: 'image_url', code: ApiErrorCode.ImageAmbiguous, message: 'give exactly one of image_url, image_base64 or an uploaded file' });
  }
  let image: CreateJobInput['image'] | undefined;
  if (kinds === 1 && b.image_url !== undefined) {
    const bad = checkHttpUrl('image_url', b.image_url);
    if (bad) issues.push(bad);
    else image = { kind: 'url', url: b.image_url };
  } else if (kinds === 1 && b.image_base64 !== undefined) {
    const decoded = decodeBase64Image('image_base64', b.image_base64, limits.maxImageBytes);
    if (!decoded.ok) issues.push(...decoded.issues);
    else image = { kind: 'bytes', bytes: decoded.value };
  } else if (kinds === 1 && upload !== undefined) {
    if (upload.length === 0) issues.push({ field: 'image', code: ApiErrorCode.ImageMissing, message: 'the uploaded image file is empty' });
    else image = { kind: 'bytes', bytes: upload };
  }
  if (b.callback_url !== undefined) {
    const bad = checkHttpUrl('callback_url', b.callback_url);
    if (bad) issues.push(bad);
  }
  if (b.metadata !== undefined && Buffer.byteLength(JSON.stringify(b.metadata)) > MAX_METADATA_BYTES) {
    issues.push({ field: 'metadata', code: ApiErrorCode.ValidationFailed, message: `metadata must serialise to at most ${MAX_METADATA_BYTES} bytes` });
  }
  if (issues.length > 0 || !image) return { ok: false, issues };
  return {
    ok: true,
    value: { image, options: b.options ?? {}, trackId: b.track_id, callbackUrl: b.callback_url, metadata: b.metadata },
  };
}
