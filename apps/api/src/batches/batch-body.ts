/**
 * The three ways a batch arrives, each as a stream of raw rows with their line numbers, read with
 * backpressure and bounded memory (one line / record at a time):
 *  - JSON `{items: [...]}` (already parsed by express.json; at most BATCH_MAX_JSON_ITEMS): line = index + 1;
 *  - NDJSON (`application/x-ndjson`): one JSON object per line; blank lines are skipped. A first line of
 *    the form `{"batch": {"options": {...}, "callback_url": "...", "metadata": {...}}}` carries the batch
 *    settings instead of an item;
 *  - CSV (`text/csv`): a header row naming the columns (image_url, external_id, track_id, callback_url,
 *    metadata as JSON, and any removebg_mask option by its name), then one item per record.
 * A line that is not JSON or a CSV record that does not parse is a rejected row, not a failed batch.
 */
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { parse } from 'csv-parse';
import {
  ApiErrorCode,
  BATCH_MAX_LINE_BYTES,
  checkCsvHeader,
  csvRecordToRow,
  type RejectedRow,
} from '../../../../libs/contracts/src/index.js';
import { ApiError } from '../errors/api-error.js';

export type RawRow = { line: number; raw: unknown } | { line: number; rejected: RejectedRow };

/** Splits a byte stream into lines; a line longer than `maxBytes` is reported as such and skipped. */
export async function* readLines(stream: AsyncIterable<Buffer | string>, maxBytes = BATCH_MAX_LINE_BYTES): AsyncGenerator<{ line: number; text: string | null }> {
  const decoder = new StringDecoder('utf8');
  let line = 0;
  let partial = '';
  let tooLong = false;
  const finish = (text: string) => {
    line++;
    if (tooLong) {
      tooLong = false;
      return { line, text: null };
    }
    return { line, text: text.endsWith('\r') ? text.slice(0, -1) : text };
  };
  for await (const chunk of stream) {
    const s = typeof chunk === 'string' ? chunk : decoder.write(chunk);
    let start = 0;
    for (;;) {
      const nl = s.indexOf('\n', start);
      if (nl < 0) break;
      const piece = s.slice(start, nl);
      const text = tooLong ? '' : partial + piece;
      partial = '';
      if (!tooLong && text.length > maxBytes) tooLong = true;
      yield finish(text);
      start = nl + 1;
    }
    if (!tooLong) {
      partial += s.slice(start);
      if (partial.length > maxBytes) {
        tooLong = true;
        partial = '';
      }
    }
  }
  partial += decoder.end();
  if (partial.length > 0 || tooLong) yield finish(partial);
}

const tooLongRow = (line: number): RejectedRow => ({ line, field: '(line)', code: ApiErrorCode.LineTooLong, message: `line ${line} is longer than ${BATCH_MAX_LINE_BYTES} bytes` });

/** NDJSON rows; `onHeader` receives the `{"batch": {...}}` settings line when it comes first. */
export async function* ndjsonRows(stream: Readable, onHeader: (settings: unknown) => void): AsyncGenerator<RawRow> {
  let first = true;
  for await (const { line, text } of readLines(stream)) {
    if (text === null) {
      first = false;
      yield { line, rejected: tooLongRow(line) };
      continue;
    }
    if (text.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      first = false;
      yield { line, rejected: { line, field: '(line)', code: ApiErrorCode.InvalidJson, message: `line ${line} is not valid JSON` } };
      continue;
    }
    if (first && value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 1 && 'batch' in value) {
      first = false;
      onHeader((value as { batch: unknown }).batch);
      continue;
    }
    first = false;
    yield { line, raw: value };
  }
}

/**
 * CSV rows (csv-parse, streaming). The header is checked before any row: an unknown column is a 400 for
 * the whole batch. A record that does not parse (wrong column count, bad quoting) is a rejected row.
 */
export async function* csvRows(stream: Readable): AsyncGenerator<RawRow> {
  const skipped: RejectedRow[] = [];
  let headerError: ApiError | undefined;
  const parser = parse({
    bom: true,
    columns: (header: string[]) => {
      const cols = header.map((h) => h.trim());
      const issues = checkCsvHeader(cols);
      if (issues.length > 0) headerError = ApiError.fromIssues(issues);
      return cols;
    },
    info: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
    max_record_size: BATCH_MAX_LINE_BYTES,
    relax_quotes: false,
    on_skip: (err: { message: string; lines?: number } | undefined) => {
      if (!err) return;
      const line = err.lines ?? 0;
      skipped.push({ line, field: '(record)', code: ApiErrorCode.InvalidCsv, message: `line ${line}: ${err.message}` });
    },
  });
  stream.on('error', (err) => parser.destroy(err));
  stream.pipe(parser);
  for await (const rec of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
    if (headerError) {
      stream.unpipe(parser);
      parser.destroy();
      throw headerError;
    }
    // The parser reports a skipped record as soon as it reads it, possibly before records above it are
    // consumed here: report it in line order.
    while (skipped.length > 0 && skipped[0]!.line < rec.info.lines) {
      const r = skipped.shift()!;
      yield { line: r.line, rejected: r };
    }
    yield { line: rec.info.lines, raw: csvRecordToRow(rec.record) };
  }
  if (headerError) throw headerError;
  for (const r of skipped) yield { line: r.line, rejected: r };
}

/** The JSON body's items. */
export function* jsonRows(items: unknown[]): Generator<RawRow> {
  for (let i = 0; i < items.length; i++) yield { line: i + 1, raw: items[i] };
}
