/**
 * One `maskflow submit` run, whatever the input: opens (or resumes) the state in --out, names every item's
 * output, runs the input's mode (folder uploads or a catalog batch) under a live progress display,
 * downloads and verifies each finished item's outputs, and ends with the report, the summary and the
 * exit code. Interrupted (SIGINT/SIGTERM), it saves its state and exits 130; the same command resumes.
 */
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { OutputView, RemovebgOptions } from '../../../../libs/contracts/src/index.js';
import { EXIT } from '../command.js';
import { ApiCallError, InterruptedError } from '../client/api-errors.js';
import type { MaskflowApiClient } from '../client/maskflow-api.client.js';
import { ProgressReporter, type ProgressStream } from '../progress/progress-reporter.js';
import { NameAllocator, outputFileName } from './output-names.js';
import { OutputDownloadError, alreadyDownloaded, downloadOutput } from './output-downloader.js';
import { buildReport, summaryLines, writeReport } from './run-report.js';
import { RunState, type DownloadedFile, type ItemState, type RunStateData } from './run-state.js';
import type { SkippedInput } from './submit-inputs.js';

export interface SubmitSettings {
  outDir: string;
  options: RemovebgOptions;
  concurrency: number;
  retryFailed: boolean;
  client: MaskflowApiClient;
  signal: AbortSignal;
  progress: ProgressStream;
  /** Plain progress lines (not a TTY) at most this often. */
  progressIntervalMs?: number;
  out(line: string): void;
}

/** What a mode (folder, catalog) tells the run. */
export interface SubmissionMode {
  input: RunStateData['input'];
  /** Item keys in input order. */
  keys: string[];
  /** The output name an item would get (before de-duplication). */
  baseName(key: string): string;
  /** How the report names an item: the file, or `catalog.csv line 7`. */
  describe(key: string): string;
  skipped: SkippedInput[];
  run(run: SubmissionRun): Promise<void>;
  /** What is under way, for the progress line. */
  activity?(): string | undefined;
}

/** Order-independent JSON of the options, for fingerprints and idempotency keys. */
export function canonicalOptions(options: RemovebgOptions): string {
  return JSON.stringify(Object.fromEntries(Object.entries(options).sort(([a], [b]) => a.localeCompare(b))));
}

/** Waits `ms`, or rejects with InterruptedError when the run is interrupted first. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new InterruptedError());
    const onAbort = () => {
      clearTimeout(t);
      reject(new InterruptedError());
    };
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** How often a run asks the API how its items are doing. */
export const POLL_INTERVAL_MS = 500;

export function sha256Hex(...parts: string[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex');
}

/** The handle a mode works with: the state, the items' outcome, the API. */
export class SubmissionRun {
  private handled = 0;
  private failedCount = 0;

  constructor(
    readonly settings: SubmitSettings,
    readonly state: RunState,
  ) {}

  get client(): MaskflowApiClient {
    return this.settings.client;
  }

  get signal(): AbortSignal {
    return this.settings.signal;
  }

  item(key: string): ItemState {
    const item = this.state.data.items[key];
    if (!item) throw new Error(`no item ${key}`);
    return item;
  }

  isFinished(item: ItemState): boolean {
    return (item.files !== undefined && item.files.length > 0) || (item.error !== undefined && item.error !== null);
  }

  counts(): { done: number; failed: number } {
    return { done: this.handled, failed: this.failedCount };
  }

  /** Recounts from the state (after resuming, or after --retry-failed reset items). */
  recount(keys: string[]): void {
    this.handled = 0;
    this.failedCount = 0;
    for (const k of keys) {
      const item = this.state.data.items[k]!;
      if (this.isFinished(item)) this.handled++;
      if (item.error) this.failedCount++;
    }
  }

  /** Records an item as failed (a job that failed, a refused upload, a download that did not verify). */
  fail(key: string, error: { code: string; message: string }, jobState?: string): void {
    const item = this.item(key);
    if (this.isFinished(item)) return;
    item.error = error;
    if (jobState) item.state = jobState;
    this.handled++;
    this.failedCount++;
    this.state.touch();
  }

  /** Makes a failed item pending again (for --retry-failed). */
  reopen(key: string): void {
    const item = this.item(key);
    if (!item.error) return;
    delete item.error;
    this.handled--;
    this.failedCount--;
    this.state.touch();
  }

  /**
   * A succeeded item: each output into `<out>/<name>.png` (verified by sha256; one that is already there
   * with the right sha256 is kept). A download that fails twice makes the item failed.
   */
  async complete(key: string, jobId: string, outputs: OutputView[]): Promise<void> {
    const item = this.item(key);
    if (this.isFinished(item)) return;
    item.job_id = jobId;
    item.state = 'succeeded';
    if (outputs.length === 0) return this.fail(key, { code: 'no_output', message: 'the job succeeded without an output' }, 'succeeded');
    const files: DownloadedFile[] = [];
    for (const [idx, o] of outputs.entries()) {
      const rel = outputFileName(item.name, idx, o.content_type);
      const file = path.join(this.settings.outDir, rel);
      if (!(await alreadyDownloaded(file, o.sha256, o.bytes))) {
        try {
          await downloadOutput(o.url, file, o.sha256, this.signal).catch((err: unknown) =>
            err instanceof OutputDownloadError ? downloadOutput(o.url, file, o.sha256, this.signal) : Promise.reject(err),
          );
        } catch (err) {
          if (err instanceof OutputDownloadError) return this.fail(key, { code: err.code, message: err.message }, 'succeeded');
          throw err;
        }
      }
      files.push({ file: rel, sha256: o.sha256, bytes: o.bytes });
    }
    item.files = files;
    this.handled++;
    this.state.touch();
  }

  /** Whether an item's recorded downloads are still in --out with their sha256 (else they are fetched again). */
  async downloadsIntact(item: ItemState): Promise<boolean> {
    for (const f of item.files ?? []) if (!(await alreadyDownloaded(path.join(this.settings.outDir, f.file), f.sha256, f.bytes))) return false;
    return true;
  }
}

export async function runSubmission(settings: SubmitSettings, mode: SubmissionMode): Promise<number> {
  const startedAt = new Date();
  await mkdir(settings.outDir, { recursive: true });
  const state = await RunState.open(settings.outDir, mode.input, settings.client.apiUrl);
  // Names: an item keeps the name it had in an earlier run; new items get free names, in input order.
  const names = new NameAllocator();
  for (const key of mode.keys) {
    const known = state.data.items[key];
    if (known) names.allocate(known.name);
  }
  for (const key of mode.keys) if (!state.data.items[key]) state.item(key, names.allocate(mode.baseName(key)));
  const run = new SubmissionRun(settings, state);
  // Recorded downloads that went missing or changed are fetched again.
  for (const key of mode.keys) {
    const item = state.data.items[key]!;
    if (item.files && !(await run.downloadsIntact(item))) delete item.files;
  }
  run.recount(mode.keys);
  if (state.resumed) settings.out(`resuming: ${run.counts().done} of ${mode.keys.length} already finished`);
  await state.flush();

  const progress = new ProgressReporter(
    settings.progress,
    () => ({ total: mode.keys.length, ...run.counts(), activity: mode.activity?.() }),
    { plainIntervalMs: settings.progressIntervalMs, label: 'maskflow' },
  );
  progress.start();
  let interrupted = false;
  let fatal: unknown;
  try {
    await mode.run(run);
  } catch (err) {
    if (err instanceof InterruptedError || settings.signal.aborted) interrupted = true;
    else fatal = err;
  } finally {
    progress.stop();
  }
  if (interrupted) state.flushSync();
  else await state.flush();
  const report = buildReport({ state: state.data, keys: mode.keys, describe: mode.describe, skipped: mode.skipped, outDir: settings.outDir, startedAt, interrupted });
  const reportFile = await writeReport(settings.outDir, report);
  if (fatal) {
    if (fatal instanceof ApiCallError) settings.out(`stopped: ${report.counts.done} done, ${report.counts.failed} failed, ${report.counts.pending} pending; state saved, re-run to resume`);
    throw fatal;
  }
  for (const line of summaryLines(report, reportFile)) settings.out(line);
  if (interrupted) return EXIT.interrupted;
  return report.counts.failed > 0 || report.counts.pending > 0 ? EXIT.failure : EXIT.ok;
}
