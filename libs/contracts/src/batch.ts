/**
 * Batches (POST /v1/batches): limits, the per-row validation (the job request schema of POST /v1/jobs, with
 * `external_id` and batch-level default options on top), CSV cell conversion and the public views.
 */
import { ApiErrorCode } from './error-codes.js';
import { parseCreateJob, removebgOptionsSchema, type FieldIssue, type RemovebgOptions } from './job-request.schema.js';
import type { JobStateName } from './job-states.js';
import type { OutputView } from './job-response.js';

/** A JSON body (`{items: [...]}`) carries at most this many items; larger batches are streamed. */
export const BATCH_MAX_JSON_ITEMS = 10_000;
/** A streamed NDJSON or CSV body carries at most this many rows (BATCH_MAX_ROWS can lower it). */
export const BATCH_MAX_ROWS = 1_000_000;
/** How many rejected rows an answer lists (the total is always given). */
export const BATCH_MAX_REJECTED_LISTED = 100;
/** One NDJSON line or CSV record may not be longer than this. */
export const BATCH_MAX_LINE_BYTES = 64 * 1024;
const MAX_EXTERNAL_ID = 200;
/**
 * BullMQ priority of batch items in the submit queue. Jobs without a priority (single jobs) are always
 * taken before prioritized ones, so a single job waits at most for a provider slot to free up.
 */
export const BATCH_ITEM_PRIORITY = 10;

export type BatchFormat = 'json' | 'ndjson' | 'csv';
export const BATCH_STATES = ['running', 'completed', 'canceled'] as const;
export type BatchStateName = (typeof BATCH_STATES)[number];

/** Batch-level settings: default options for every item, the batch's callback_url and metadata. */
export interface BatchDefaults {
  options: RemovebgOptions;
  callbackUrl?: string;
  metadata?: Record<string, unknown>;
}

/** A row that failed validation, by its line in the body (JSON bodies: item index + 1). */
export interface RejectedRow {
  line: number;
  field: string;
  code: string;
  message: string;
}

/** One accepted item, ready to be inserted as a job. */
export interface BatchItem {
  line: number;
  externalId: string | null;
  imageUrl: string;
  options: RemovebgOptions;
  trackId: string | null;
  callbackUrl: string | null;
  metadata: Record<string, unknown> | null;
}

export type RowResult = { ok: true; item: BatchItem } | { ok: false; issues: RejectedRow[] };

const toRejected = (line: number, issues: FieldIssue[]): RejectedRow[] => issues.map((i) => ({ line, field: i.field, code: i.code, message: i.message }));

/**
 * Validates one row: `{image_url, external_id?, options?, track_id?, callback_url?, metadata?}`. Options are
 * the batch defaults overlaid with the row's own; the merged request goes through the POST /v1/jobs schema.
 */
export function parseBatchRow(raw: unknown, line: number, defaults: BatchDefaults): RowResult {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return { ok: false, issues: [{ line, field: '(row)', code: ApiErrorCode.InvalidType, message: 'each item must be a JSON object' }] };
  }
  const { external_id: externalId, ...rest } = raw as Record<string, unknown>;
  const issues: RejectedRow[] = [];
  if (externalId !== undefined && (typeof externalId !== 'string' || externalId.length === 0 || externalId.length > MAX_EXTERNAL_ID)) {
    issues.push({ line, field: 'external_id', code: ApiErrorCode.InvalidType, message: `external_id must be a string of 1 to ${MAX_EXTERNAL_ID} characters` });
  }
  if ('image_base64' in rest) {
    issues.push({ line, field: 'image_base64', code: ApiErrorCode.UnknownField, message: 'batch items take image_url only (upload single images with POST /v1/jobs)' });
    delete rest.image_base64;
  }
  const own = rest.options;
  const merged = own !== undefined && own !== null && typeof own === 'object' && !Array.isArray(own) ? { ...defaults.options, ...own } : (own ?? defaults.options);
  const parsed = parseCreateJob({ ...rest, options: merged }, { maxImageBytes: 0 });
  if (!parsed.ok) issues.push(...toRejected(line, parsed.issues));
  if (issues.length > 0 || !parsed.ok) return { ok: false, issues };
  const v = parsed.value;
  if (v.image.kind !== 'url') return { ok: false, issues: [{ line, field: 'image_url', code: ApiErrorCode.ImageMissing, message: 'image_url is required' }] };
  return {
    ok: true,
    item: {
      line,
      externalId: (externalId as string | undefined) ?? null,
      imageUrl: v.image.url,
      options: v.options,
      trackId: v.trackId ?? (externalId as string | undefined) ?? null,
      callbackUrl: v.callbackUrl ?? null,
      metadata: v.metadata ?? null,
    },
  };
}

/** Validates the batch-level settings (query parameters, the NDJSON header line or the JSON body's fields). */
export function parseBatchDefaults(raw: { options?: unknown; callback_url?: unknown; metadata?: unknown }): { ok: true; value: BatchDefaults } | { ok: false; issues: FieldIssue[] } {
  const probe = parseCreateJob(
    { image_url: 'https://example.invalid/x', ...(raw.options !== undefined ? { options: raw.options } : {}), ...(raw.callback_url !== undefined ? { callback_url: raw.callback_url } : {}), ...(raw.metadata !== undefined ? { metadata: raw.metadata } : {}) },
    { maxImageBytes: 0 },
  );
  if (!probe.ok) return { ok: false, issues: probe.issues };
  return { ok: true, value: { options: probe.value.options, callbackUrl: probe.value.callbackUrl, metadata: probe.value.metadata } };
}

const OPTION_TYPES = removebgOptionsSchema.shape;
export const CSV_FIELD_COLUMNS = ['image_url', 'external_id', 'track_id', 'callback_url', 'metadata'] as const;
export const CSV_OPTION_COLUMNS = Object.keys(OPTION_TYPES);

/** A CSV header's problems: unknown columns, a missing image_url column. */
export function checkCsvHeader(columns: string[]): FieldIssue[] {
  const known = new Set<string>([...CSV_FIELD_COLUMNS, ...CSV_OPTION_COLUMNS]);
  const issues: FieldIssue[] = columns
    .filter((c) => !known.has(c))
    .map((c) => ({ field: c, code: ApiErrorCode.UnknownField, message: `CSV column "${c}" is not known (columns: ${[...known].join(', ')})` }));
  if (!columns.includes('image_url')) issues.push({ field: 'image_url', code: ApiErrorCode.ImageMissing, message: 'the CSV header must have an image_url column' });
  const dup = columns.find((c, i) => columns.indexOf(c) !== i);
  if (dup) issues.push({ field: dup, code: ApiErrorCode.ValidationFailed, message: `CSV column "${dup}" appears twice` });
  return issues;
}

const BOOL: Record<string, boolean> = { true: true, false: false, '1': true, '0': false, yes: true, no: false };
const BOOL_OPTIONS = new Set(['only_mask', 'inverse_mask', 'post_process_mask', 'alpha_matting']);

/**
 * One CSV record (header -> cell) as a row object: empty cells are absent, option columns become
 * `options` (booleans: true/false/1/0/yes/no; numbers: integers), `metadata` is JSON. A cell that does not
 * convert is passed on as a string, so the row schema reports it with the field's name.
 */
export function csvRecordToRow(record: Record<string, string>): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  const options: Record<string, unknown> = {};
  for (const [col, cell] of Object.entries(record)) {
    if (cell === undefined || cell === '') continue;
    if (col in OPTION_TYPES) {
      const lower = cell.trim().toLowerCase();
      if (BOOL_OPTIONS.has(col)) options[col] = lower in BOOL ? BOOL[lower] : cell;
      else options[col] = /^-?\d+$/.test(cell.trim()) ? Number(cell.trim()) : cell;
    } else if (col === 'metadata') {
      try {
        row.metadata = JSON.parse(cell);
      } catch {
        row.metadata = cell;
      }
    } else {
      row[col] = cell;
    }
  }
  if (Object.keys(options).length > 0) row.options = options;
  return row;
}

export type BatchCounts = { total: number } & Record<JobStateName, number>;

/** GET /v1/batches/:id (and the items of GET /v1/batches). */
export interface BatchView {
  id: string;
  state: BatchStateName;
  format: BatchFormat;
  counts: BatchCounts;
  /** succeeded + failed + canceled, as a percentage of the items (100 when there are none left). */
  percent_done: number;
  /** Items that reached a terminal state in the last 60 s. */
  throughput_per_minute: number;
  /** Remaining items / recent throughput; null while nothing finished in the last minute; 0 when done. */
  eta_seconds: number | null;
  rejected_total: number;
  options: RemovebgOptions;
  callback_url: string | null;
  metadata: Record<string, unknown> | null;
  created_at: string;
  updated_at: string;
  canceled_at: string | null;
  completed_at: string | null;
}

/** POST /v1/batches answer: the batch plus the rows that were not accepted (first ones; total in rejected_total). */
export interface BatchCreatedView extends BatchView {
  rejected: RejectedRow[];
}

/** One line of GET /v1/batches/:id/results. */
export interface BatchResultItem {
  line: number;
  external_id: string | null;
  job_id: string;
  state: JobStateName;
  outputs: OutputView[];
  error: { code: string; message: string } | null;
  completed_at: string | null;
}
