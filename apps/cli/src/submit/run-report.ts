/**
 * `<out>/maskflow-report.json` and the short summary printed at the end of `maskflow submit`: what is
 * done (with the files and their sha256), what failed and why, what was skipped, what is still pending.
 */
import { rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { RunStateData } from './run-state.js';
import type { SkippedInput } from './submit-inputs.js';

export const REPORT_FILE = 'maskflow-report.json';

export interface RunReport {
  input: string;
  out: string;
  api_url: string;
  batch_id: string | null;
  started_at: string;
  finished_at: string;
  interrupted: boolean;
  counts: { total: number; done: number; failed: number; skipped: number; pending: number };
  done: { input: string; job_id: string | null; files: { file: string; sha256: string; bytes: number }[] }[];
  failed: { input: string; job_id: string | null; code: string; message: string }[];
  skipped: SkippedInput[];
  pending: { input: string; job_id: string | null; state: string | null }[];
}

/** `keys` in input order; `describe` turns an item key into what the person gave (a file, a line). */
export function buildReport(a: {
  state: RunStateData;
  keys: string[];
  describe: (key: string) => string;
  skipped: SkippedInput[];
  outDir: string;
  startedAt: Date;
  interrupted: boolean;
}): RunReport {
  const report: RunReport = {
    input: a.state.input.path,
    out: a.outDir,
    api_url: a.state.api_url,
    batch_id: a.state.batch_id,
    started_at: a.startedAt.toISOString(),
    finished_at: new Date().toISOString(),
    interrupted: a.interrupted,
    counts: { total: a.keys.length, done: 0, failed: 0, skipped: a.skipped.length, pending: 0 },
    done: [],
    failed: [],
    skipped: a.skipped,
    pending: [],
  };
  for (const key of a.keys) {
    const item = a.state.items[key];
    const input = a.describe(key);
    if (item?.files && item.files.length > 0) report.done.push({ input, job_id: item.job_id ?? null, files: item.files });
    else if (item?.error) report.failed.push({ input, job_id: item.job_id ?? null, code: item.error.code, message: item.error.message });
    else report.pending.push({ input, job_id: item?.job_id ?? null, state: item?.state ?? null });
  }
  report.counts.done = report.done.length;
  report.counts.failed = report.failed.length;
  report.counts.pending = report.pending.length;
  return report;
}

export async function writeReport(outDir: string, report: RunReport): Promise<string> {
  const file = path.join(outDir, REPORT_FILE);
  await writeFile(`${file}.tmp`, `${JSON.stringify(report, null, 2)}\n`);
  await rename(`${file}.tmp`, file);
  return file;
}

/** The few lines printed at the end. */
export function summaryLines(report: RunReport, reportFile: string): string[] {
  const c = report.counts;
  const lines = [
    `${report.interrupted ? 'interrupted' : 'finished'}: ${c.done} done, ${c.failed} failed, ${c.skipped} skipped${c.pending > 0 ? `, ${c.pending} pending` : ''} (of ${c.total}${report.batch_id ? `, batch ${report.batch_id}` : ''})`,
  ];
  const shown = report.failed.slice(0, 20);
  if (shown.length > 0) lines.push('failed:', ...shown.map((f) => `  ${f.input}: ${f.code}: ${f.message}`));
  if (report.failed.length > shown.length) lines.push(`  … and ${report.failed.length - shown.length} more`);
  const skipped = report.skipped.slice(0, 10);
  if (skipped.length > 0) lines.push('skipped:', ...skipped.map((s) => `  ${s.input}: ${s.reason}`));
  if (report.skipped.length > skipped.length) lines.push(`  … and ${report.skipped.length - skipped.length} more`);
  lines.push(`report: ${reportFile}`);
  if (report.interrupted) lines.push('re-run the same command to resume (finished items are not submitted again)');
  else if (c.failed > 0) lines.push('re-run with --retry-failed to run the failed items again');
  return lines;
}
