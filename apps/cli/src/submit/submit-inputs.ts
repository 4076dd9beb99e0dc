/**
 * What `maskflow submit` was given, read and checked before anything is sent:
 *  - a folder: every image file under it (recursively, sorted; other files are listed as skipped), each to
 *    be uploaded as a job, since the batch API takes image URLs only and a local file has none;
 *  - a CSV or NDJSON catalog of image_url rows: parsed and validated locally with the server's own code
 *    (same line numbers as the API's), so a bad row is reported with its line before anything is sent.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import type { RawRow } from '../../../api/src/batches/batch-body.js';
import { parseBatchDefaults, parseBatchRow, type BatchDefaults, type RejectedRow, type RemovebgOptions } from '../../../../libs/contracts/src/index.js';
import { UsageError } from '../command.js';
import { NameAllocator, nameForFile, nameForUrlRow } from './output-names.js';

export const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif', '.bmp', '.tif', '.tiff', '.avif']);

export interface FolderFile {
  /** Path relative to the folder, with `/` separators: the item's key. */
  rel: string;
  abs: string;
  bytes: number;
  /** Output name without extension (unique in the run). */
  name: string;
}

export interface SkippedInput {
  input: string;
  reason: string;
}

export interface FolderInput {
  kind: 'folder';
  root: string;
  files: FolderFile[];
  skipped: SkippedInput[];
}

export interface CatalogInput {
  kind: 'catalog';
  format: 'csv' | 'ndjson';
  file: string;
  sha256: string;
  /** Output name per line of the catalog. */
  names: Map<number, string>;
  rejected: RejectedRow[];
  rejectedTotal: number;
}

export type SubmitInput = FolderInput | CatalogInput;

/** Reads and checks the input; throws UsageError (exit 2) for a missing path or an unreadable file. */
export async function readSubmitInput(inputPath: string, options: RemovebgOptions, excludeDir: string): Promise<SubmitInput> {
  const abs = path.resolve(inputPath);
  const info = await stat(abs).catch((err: NodeJS.ErrnoException) => {
    throw new UsageError(err.code === 'ENOENT' ? `${inputPath} does not exist` : `cannot read ${inputPath}: ${err.message}`);
  });
  if (info.isDirectory()) return readFolder(abs, excludeDir);
  const ext = path.extname(abs).toLowerCase();
  const format = ext === '.csv' ? 'csv' : ext === '.ndjson' || ext === '.jsonl' ? 'ndjson' : null;
  if (!format) throw new UsageError(`${inputPath}: give a folder of images, a .csv or an .ndjson/.jsonl file of image_url rows`);
  return readCatalog(abs, format, options);
}

async function readFolder(root: string, excludeDir: string): Promise<FolderInput> {
  const found: { rel: string; abs: string; bytes: number }[] = [];
  const skipped: SkippedInput[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch((err: Error) => {
      throw new UsageError(`cannot read the folder ${dir}: ${err.message}`);
    });
    for (const e of entries) {
      const abs = path.join(dir, e.name);
      if (e.name.startsWith('.') || abs === excludeDir) continue;
      const rel = path.relative(root, abs).split(path.sep).join('/');
      if (e.isDirectory()) await walk(abs);
      else if (!e.isFile()) continue;
      else if (!IMAGE_EXTENSIONS.has(path.extname(e.name).toLowerCase())) skipped.push({ input: rel, reason: 'not an image file (by its extension)' });
      else found.push({ rel, abs, bytes: (await stat(abs)).size });
    }
  };
  await walk(root);
  found.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  const names = new NameAllocator();
  const files = found.map((f) => ({ ...f, name: names.allocate(nameForFile(f.rel)) }));
  if (files.length === 0) throw new UsageError(`${root} holds no image files (${[...IMAGE_EXTENSIONS].join(', ')})`);
  return { kind: 'folder', root, files, skipped };
}

async function readCatalog(file: string, format: 'csv' | 'ndjson', options: RemovebgOptions): Promise<CatalogInput> {
  const hash = createHash('sha256');
  const source = createReadStream(file);
  const tee = new PassThrough();
  source.on('data', (chunk) => hash.update(chunk));
  source.on('error', (err) => tee.destroy(err));
  source.pipe(tee);
  let defaults: BatchDefaults = { options };
  const rejected: RejectedRow[] = [];
  let rejectedTotal = 0;
  const names = new Map<number, string>();
  const allocator = new NameAllocator();
  const reject = (r: RejectedRow) => {
    rejectedTotal++;
    if (rejected.length < 100) rejected.push(r);
  };
  // The API's own readers (same line numbers); loaded here only, as they bring NestJS along.
  const { csvRows, ndjsonRows } = await import('../../../api/src/batches/batch-body.js');
  const rows: AsyncIterable<RawRow> =
    format === 'csv'
      ? csvRows(tee)
      : ndjsonRows(tee, (settings) => {
          // As the API does: the header line's fields replace the query's (--option) field by field.
          const header = settings !== null && typeof settings === 'object' ? Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined)) : {};
          const parsed = parseBatchDefaults({ options, ...header });
          if (parsed.ok) defaults = parsed.value;
          else for (const i of parsed.issues) reject({ line: 1, field: `batch.${i.field}`, code: i.code, message: i.message });
        });
  try {
    for await (const row of rows) {
      if ('rejected' in row) {
        reject(row.rejected);
        continue;
      }
      const parsed = parseBatchRow(row.raw, row.line, defaults);
      if (!parsed.ok) {
        rejectedTotal += parsed.issues.length > 0 ? 1 : 0;
        for (const i of parsed.issues) if (rejected.length < 100) rejected.push(i);
        continue;
      }
      names.set(row.line, allocator.allocate(nameForUrlRow(parsed.item.externalId, parsed.item.imageUrl)));
    }
  } catch (err) {
    // A CSV header the API would refuse (unknown column, no image_url), or a read error.
    const details = (err as { details?: { field: string; message: string }[] }).details;
    const lines = Array.isArray(details) && details.length > 0 ? details.map((d) => `  header: ${d.message}`).join('\n') : `  ${(err as Error).message}`;
    throw new UsageError(`${file} cannot be read as ${format.toUpperCase()}:\n${lines}`);
  }
  if (names.size === 0 && rejectedTotal === 0) throw new UsageError(`${file} holds no rows`);
  return { kind: 'catalog', format, file, sha256: hash.digest('hex'), names, rejected, rejectedTotal };
}

/** sha256 of a file, streamed. */
export async function fileSha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The removebg_mask options from `--option key=value` (repeatable) and `--options <json>`; UsageError if invalid. */
export function parseOptionFlags(pairs: string[], json: string | undefined): RemovebgOptions {
  let raw: Record<string, unknown> = {};
  if (json !== undefined) {
    try {
      raw = JSON.parse(json) as Record<string, unknown>;
    } catch {
      throw new UsageError('--options must be a JSON object, e.g. --options \'{"only_mask":true}\'');
    }
  }
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--option takes key=value, e.g. --option alpha_matting=true (got "${pair}")`);
    const key = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    raw[key] = value === 'true' ? true : value === 'false' ? false : /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value;
  }
  const parsed = parseBatchDefaults({ options: raw });
  if (!parsed.ok) throw new UsageError(`invalid option: ${parsed.issues.map((i) => `${i.field.replace(/^options\./, '')}: ${i.message}`).join('; ')}`);
  return parsed.value.options;
}
