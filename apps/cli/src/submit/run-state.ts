/**
 * `<out>/.maskflow-state.json`: what a `maskflow submit` run has done, so an interrupted run resumes
 * without resubmitting: the batch id or each file's job id, each item's last known state, and the files
 * downloaded (with their sha256). Written atomically (temporary file + rename), at most every
 * SAVE_INTERVAL_MS while running and once more at the end or on interrupt. Losing it costs nothing but
 * time: submits carry an Idempotency-Key derived from the input, and downloads are skipped when the file
 * in --out already has the expected sha256. For very large catalogs the interval grows with the time a
 * write takes (at most ~10 % of the run is spent writing the state).
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../command.js';

export const STATE_FILE = '.maskflow-state.json';
const SAVE_INTERVAL_MS = 500;

export interface DownloadedFile {
  file: string;
  sha256: string;
  bytes: number;
}

export interface ItemState {
  /** Output name (no extension), relative to --out. */
  name: string;
  job_id?: string;
  /** The last state the API reported for the item's job. */
  state?: string;
  files?: DownloadedFile[];
  error?: { code: string; message: string } | null;
}

export interface RunStateData {
  version: 1;
  input: { path: string; kind: 'folder' | 'csv' | 'ndjson'; fingerprint: string };
  api_url: string;
  batch_id: string | null;
  created_at: string;
  updated_at: string;
  /** By item key: a folder file's relative path, or `line:<n>` for a catalog row. */
  items: Record<string, ItemState>;
}

export class RunState {
  private dirty = false;
  private writing: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private lastWriteMs = 0;

  private constructor(
    private readonly file: string,
    readonly data: RunStateData,
    readonly resumed: boolean,
  ) {}

  /** Opens the state of this run in `outDir`, or starts a new one; refuses the state of another input. */
  static async open(outDir: string, input: RunStateData['input'], apiUrl: string): Promise<RunState> {
    const file = path.join(outDir, STATE_FILE);
    const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? null : Promise.reject(err)));
    if (text !== null) {
      let data: RunStateData | undefined;
      try {
        data = JSON.parse(text) as RunStateData;
      } catch {
        data = undefined; // a torn or foreign file: start over (idempotency keys prevent duplicates)
      }
      if (data?.version === 1) {
        if (data.input.fingerprint !== input.fingerprint || data.input.kind !== input.kind) {
          throw new UsageError(
            `${outDir} holds the state of another run (${data.input.kind} ${data.input.path}, other content or options); use another --out or delete ${file}`,
          );
        }
        if (data.api_url !== apiUrl) throw new UsageError(`${outDir} holds a run against ${data.api_url}, not ${apiUrl}; use another --out or delete ${file}`);
        return new RunState(file, { ...data, input }, true);
      }
    }
    const now = new Date().toISOString();
    return new RunState(file, { version: 1, input, api_url: apiUrl, batch_id: null, created_at: now, updated_at: now, items: {} }, false);
  }

  item(key: string, name: string): ItemState {
    return (this.data.items[key] ??= { name });
  }

  /** Marks the state changed; it is written within SAVE_INTERVAL_MS. */
  touch(): void {
    this.dirty = true;
    this.timer ??= setTimeout(() => {
      this.timer = null;
      void this.write();
    }, Math.max(SAVE_INTERVAL_MS, this.lastWriteMs * 10));
  }

  /** Writes now (waiting for a write under way). */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.writing;
    this.dirty = true;
    await this.write();
  }

  /** Writes now, synchronously (for the last moments of an interrupted process). */
  flushSync(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.data.updated_at = new Date().toISOString();
    writeFileSync(`${this.file}.tmp`, JSON.stringify(this.data));
    renameSync(`${this.file}.tmp`, this.file);
  }

  private async write(): Promise<void> {
    if (this.writing) return this.writing.then(() => (this.dirty ? this.write() : undefined));
    if (!this.dirty) return;
    this.dirty = false;
    this.data.updated_at = new Date().toISOString();
    const started = Date.now();
    const body = JSON.stringify(this.data);
    this.writing = writeFile(`${this.file}.tmp`, body)
      .then(() => rename(`${this.file}.tmp`, this.file))
      .finally(() => {
        this.writing = null;
        this.lastWriteMs = Date.now() - started;
      });
    return this.writing;
  }
}

/** For tests and tools: the state as it is on disk. */
export function readRunState(outDir: string): RunStateData {
  return JSON.parse(readFileSync(path.join(outDir, STATE_FILE), 'utf8')) as RunStateData;
}
