/**
 * `maskflow submit <folder>`: every image is uploaded as its own job (multipart POST /v1/jobs), because a
 * batch takes image URLs only and a local file has none. At most --concurrency uploads at once; each
 * carries an Idempotency-Key derived from the file's path, its sha256 and the options, so a re-run (even
 * without the state file) gets the same job back instead of a second one. Jobs are polled until they end;
 * each finished job's output is downloaded as it finishes.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { JobView } from '../../../../libs/contracts/src/index.js';
import { ApiRequestRefused, InterruptedError } from '../client/api-errors.js';
import { concurrencyLimit } from '../../../../libs/common/src/index.js';
import { POLL_INTERVAL_MS, canonicalOptions, pause, sha256Hex, type SubmissionMode, type SubmissionRun, type SubmitSettings } from './submission.js';
import type { FolderInput } from './submit-inputs.js';

const MAX_TRACK_ID = 200;
const TERMINAL = new Set(['succeeded', 'failed', 'canceled']);

export function folderMode(input: FolderInput, settings: Pick<SubmitSettings, 'options' | 'concurrency' | 'retryFailed'>): SubmissionMode {
  const byKey = new Map(input.files.map((f) => [f.rel, f]));
  const keys = input.files.map((f) => f.rel);
  const optionsJson = canonicalOptions(settings.options);
  let uploading = 0;
  let processing = 0;

  let stopped = false; // a fatal error: queued uploads are not started

  async function upload(run: SubmissionRun, key: string): Promise<void> {
    if (run.signal.aborted) throw new InterruptedError();
    if (stopped) return;
    const file = byKey.get(key)!;
    const item = run.item(key);
    uploading++;
    try {
      const bytes = await readFile(file.abs);
      const idempotencyKey = `mfcli-${sha256Hex('file', key, createHash('sha256').update(bytes).digest('hex'), optionsJson)}`;
      const res = await run.client.call<JobView>(
        'POST',
        '/v1/jobs',
        {
          kind: 'form',
          build: () => {
            const form = new FormData();
            form.set('image', new Blob([bytes]), path.basename(file.abs));
            form.set('options', JSON.stringify(settings.options));
            if (key.length <= MAX_TRACK_ID) form.set('track_id', key);
            return form;
          },
        },
        { 'idempotency-key': idempotencyKey },
      );
      item.job_id = res.body.id;
      item.state = res.body.state;
      run.state.touch();
    } catch (err) {
      // The API refused this one file (too large, not an image it accepts): the item fails, the run goes on.
      if (err instanceof ApiRequestRefused) run.fail(key, { code: err.code, message: err.message });
      else throw err;
    } finally {
      uploading--;
    }
  }

  async function poll(run: SubmissionRun, key: string): Promise<void> {
    const item = run.item(key);
    let job: JobView;
    try {
      job = await run.client.getJob(item.job_id!);
    } catch (err) {
      if (err instanceof ApiRequestRefused && err.status === 404) return run.fail(key, { code: 'job_not_found', message: `job ${item.job_id} is not known to this API (another database or key?)` });
      throw err;
    }
    if (item.state !== job.state) {
      item.state = job.state;
      run.state.touch();
    }
    if (job.state === 'succeeded') await run.complete(key, job.id, job.outputs);
    else if (TERMINAL.has(job.state)) run.fail(key, job.error ?? { code: job.state, message: `the job was ${job.state}` }, job.state);
  }

  return {
    input: { path: input.root, kind: 'folder', fingerprint: sha256Hex('folder', input.root, optionsJson) },
    keys,
    baseName: (key) => byKey.get(key)!.name,
    describe: (key) => key,
    skipped: input.skipped,
    activity: () => [uploading > 0 ? `uploading ${uploading}` : '', processing > 0 ? `processing ${processing}` : ''].filter(Boolean).join(', ') || undefined,
    async run(run) {
      if (settings.retryFailed) {
        for (const key of keys) {
          const item = run.item(key);
          if (!item.error) continue;
          if (item.job_id && (item.state === 'failed' || item.state === 'canceled')) {
            await run.client.call('POST', `/v1/jobs/${item.job_id}/retry`).catch((err: unknown) => (err instanceof ApiRequestRefused && err.status === 409 ? undefined : Promise.reject(err)));
            item.state = 'queued';
          } else {
            delete item.job_id; // failed before a job existed, or its download failed: upload / fetch again
          }
          run.reopen(key);
        }
      }
      const uploads = concurrencyLimit(settings.concurrency);
      const polls = concurrencyLimit(settings.concurrency);
      let uploadFailure: unknown;
      let uploadsDone = false;
      const toUpload = keys.filter((k) => !run.isFinished(run.item(k)) && !run.item(k).job_id);
      const uploadAll = Promise.all(toUpload.map((k) => uploads.run(() => upload(run, k))))
        .catch((err: unknown) => {
          uploadFailure = err;
        })
        .finally(() => (uploadsDone = true));
      try {
        for (;;) {
          if (uploadFailure) throw uploadFailure;
          if (run.signal.aborted) throw new InterruptedError();
          const open = keys.filter((k) => run.item(k).job_id && !run.isFinished(run.item(k)));
          processing = open.length;
          if (uploadsDone && open.length === 0) break;
          const started = Date.now();
          await Promise.all(open.map((k) => polls.run(() => poll(run, k))));
          await pause(Math.max(50, POLL_INTERVAL_MS - (Date.now() - started)), run.signal);
        }
      } catch (err) {
        stopped = true;
        throw err;
      } finally {
        processing = 0;
        await uploadAll;
      }
      if (uploadFailure) throw uploadFailure;
    },
  };
}
