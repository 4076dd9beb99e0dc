/**
 * `maskflow submit <file.csv | file.ndjson>`: the catalog is sent as one batch, streamed from disk
 * (POST /v1/batches, text/csv or application/x-ndjson; --option values as the batch's default options) with
 * an Idempotency-Key derived from the file's sha256 and the options, so a re-run without the state file
 * finds the same batch. The batch is polled; results are streamed from the first line not yet handled
 * (`?after=`) and each finished item's output is downloaded as it finishes.
 */
import { createReadStream } from 'node:fs';
import path from 'node:path';
import type { BatchView } from '../../../../libs/contracts/src/index.js';
import { UsageError } from '../command.js';
import { ApiRequestRefused, InterruptedError } from '../client/api-errors.js';
import type { BatchCreated } from '../client/maskflow-api.client.js';
import { concurrencyLimit } from '../../../../libs/common/src/index.js';
import { POLL_INTERVAL_MS, canonicalOptions, pause, sha256Hex, type SubmissionMode, type SubmissionRun, type SubmitSettings } from './submission.js';
import type { CatalogInput, SkippedInput } from './submit-inputs.js';

/** Unfinished rows read past in one results scan before it stops (the rest is read on a later scan). */
const SCAN_LOOKAHEAD = 1000;

export function catalogMode(input: CatalogInput, settings: Pick<SubmitSettings, 'options' | 'concurrency' | 'retryFailed'>, skipped: SkippedInput[]): SubmissionMode {
  const lines = [...input.names.keys()].sort((a, b) => a - b);
  const keys = lines.map((l) => `line:${l}`);
  const lineOf = (key: string) => Number(key.slice(5));
  const fileName = path.basename(input.file);
  const fingerprint = sha256Hex('catalog', input.sha256, canonicalOptions(settings.options));
  let processing = 0;
  let downloading = 0;

  async function createBatch(run: SubmissionRun): Promise<string> {
    const query = Object.keys(settings.options).length > 0 ? `?options=${encodeURIComponent(JSON.stringify(settings.options))}` : '';
    try {
      const res = await run.client.call<BatchCreated>(
        'POST',
        `/v1/batches${query}`,
        { kind: 'stream', open: () => createReadStream(input.file), contentType: input.format === 'csv' ? 'text/csv' : 'application/x-ndjson' },
        { 'idempotency-key': `mfcli-batch-${fingerprint}` },
      );
      return res.body.id;
    } catch (err) {
      // Checked locally first, so this means the API judges the file differently (another version?).
      if (err instanceof ApiRequestRefused) throw new UsageError(`the API refused ${fileName}: ${err.code}: ${err.message}${err.details ? ` ${JSON.stringify(err.details).slice(0, 500)}` : ''}`);
      throw err;
    }
  }

  return {
    input: { path: input.file, kind: input.format, fingerprint },
    keys,
    baseName: (key) => input.names.get(lineOf(key))!,
    describe: (key) => `${fileName} line ${lineOf(key)}`,
    skipped,
    activity: () => [processing > 0 ? `processing ${processing}` : '', downloading > 0 ? `downloading ${downloading}` : ''].filter(Boolean).join(', ') || undefined,
    async run(run) {
      const state = run.state.data;
      if (!state.batch_id) {
        state.batch_id = await createBatch(run);
        await run.state.flush();
      }
      const batchId = state.batch_id;
      let batch: BatchView = await run.client.getBatch(batchId);
      if (settings.retryFailed && batch.counts.failed + batch.counts.canceled > 0) {
        await run.client.call('POST', `/v1/batches/${batchId}/retry-failed`).catch((err: unknown) =>
          err instanceof ApiRequestRefused && err.status === 409 ? undefined : Promise.reject(err),
        );
      }
      if (settings.retryFailed) {
        for (const key of keys) if (run.item(key).error) run.reopen(key);
        batch = await run.client.getBatch(batchId);
      }
      const downloads = concurrencyLimit(settings.concurrency);
      let prefix = 0; // keys[0..prefix) are finished: results are read from after that line
      let lastTerminal = -1;
      for (;;) {
        if (run.signal.aborted) throw new InterruptedError();
        const c = batch.counts;
        const terminal = c.succeeded + c.failed + c.canceled;
        processing = c.total - terminal;
        const settled = batch.completed_at !== null || batch.state !== 'running';
        if (terminal !== lastTerminal || settled) {
          lastTerminal = terminal;
          const after = prefix > 0 ? lines[prefix - 1]! : 0;
          const work: Promise<void>[] = [];
          let unfinished = 0;
          for await (const row of run.client.results(batchId, after)) {
            const key = `line:${row.line}`;
            const item = state.items[key];
            if (!item || run.isFinished(item)) continue;
            if (item.job_id !== row.job_id || item.state !== row.state) {
              item.job_id = row.job_id;
              item.state = row.state;
              run.state.touch();
            }
            if (row.state === 'succeeded') {
              work.push(
                downloads.run(async () => {
                  downloading++;
                  try {
                    await run.complete(key, row.job_id, row.outputs);
                  } finally {
                    downloading--;
                  }
                }),
              );
            } else if (row.state === 'failed' || row.state === 'canceled') {
              run.fail(key, row.error ?? { code: row.state, message: `the item was ${row.state}` }, row.state);
            } else if (++unfinished > SCAN_LOOKAHEAD) {
              break;
            }
          }
          await Promise.all(work);
          while (prefix < keys.length && run.isFinished(run.item(keys[prefix]!))) prefix++;
          if (settled) break;
        }
        if (prefix === keys.length) break;
        await pause(POLL_INTERVAL_MS, run.signal);
        batch = await run.client.getBatch(batchId);
      }
    },
  };
}
