/** `maskflow submit <folder | file.csv | file.ndjson> --out <dir>`: process a folder or a catalog, resumably. */
import path from 'node:path';
import { UsageError, type CliCommand } from '../command.js';
import { CLIENT_FLAGS_HELP, clientFromFlags, intFlag, parseFlags } from '../client/client-flags.js';
import { catalogMode } from '../submit/catalog-submission.js';
import { folderMode } from '../submit/folder-submission.js';
import { runSubmission } from '../submit/submission.js';
import { parseOptionFlags, readSubmitInput } from '../submit/submit-inputs.js';

export const submit: CliCommand = {
  path: ['submit'],
  summary: 'cut out every image of a folder, or of a CSV/NDJSON catalog of image_url rows, into --out (resumable)',
  usage: 'maskflow submit <folder | file.csv | file.ndjson> --out <dir> [--option key=value ...] [--concurrency n] [--retry-failed] [--skip-invalid]',
  interruptible: true,
  details: [
    'A folder: each image (jpg, png, webp, gif, bmp, tiff, avif; subfolders too) is uploaded as a job. A CSV or',
    'NDJSON file of image_url rows (the columns of POST /v1/batches) is checked locally, then sent as one batch.',
    'Outputs land in --out as <name>.png (a file keeps its name; a row is named by external_id, else its URL),',
    'each verified by sha256; <out>/maskflow-report.json lists what is done, failed (with reasons) and skipped.',
    'Interrupted, the same command resumes from <out>/.maskflow-state.json: nothing done is submitted again.',
    '',
    'options:',
    '  --out <dir>              where outputs, the report and the state go (created if missing)',
    '  --option <key=value>     a removebg_mask option, repeatable: only_mask=true, alpha_matting=true, seed=7, ...',
    '  --options <json>         the options as one JSON object',
    '  --concurrency <n>        uploads / downloads at once (default 4, at most 64)',
    '  --retry-failed           run the items that failed in an earlier run again',
    '  --skip-invalid           send a catalog\'s valid rows and list its invalid ones as skipped (default: exit 2)',
    '  --progress-interval <s>  seconds between progress lines when stderr is not a terminal (default 5)',
    CLIENT_FLAGS_HELP,
  ].join('\n'),
  async run(args, ctx) {
    const { values, positionals } = parseFlags(
      args,
      {
        out: { type: 'string' },
        option: { type: 'string', multiple: true },
        options: { type: 'string' },
        concurrency: { type: 'string' },
        'retry-failed': { type: 'boolean' },
        'skip-invalid': { type: 'boolean' },
        'progress-interval': { type: 'string' },
      },
      { min: 1, max: 1, what: 'the folder or catalog file to submit' },
    );
    if (typeof values.out !== 'string' || values.out === '') throw new UsageError('--out <dir> is required');
    const outDir = path.resolve(values.out);
    const options = parseOptionFlags((values.option as string[] | undefined) ?? [], values.options as string | undefined);
    const concurrency = intFlag(values, 'concurrency', 4, 1, 64);
    const progressIntervalMs = intFlag(values, 'progress-interval', 5, 1, 3600) * 1000;
    const client = clientFromFlags(values, ctx);
    const input = await readSubmitInput(positionals[0]!, options, outDir);
    const settings = {
      outDir,
      options,
      concurrency,
      retryFailed: values['retry-failed'] === true,
      client,
      signal: ctx.signal,
      progress: process.stderr,
      progressIntervalMs,
      out: ctx.out,
    };
    if (input.kind === 'folder') return runSubmission(settings, folderMode(input, settings));
    const name = path.basename(input.file);
    const skipped = input.rejected.map((r) => ({ input: `${name} line ${r.line}`, reason: `${r.field}: ${r.message}` }));
    if (input.rejectedTotal > 0 && values['skip-invalid'] !== true) {
      const more = input.rejectedTotal > input.rejected.length ? `\n  … and more (${input.rejectedTotal} invalid rows in all)` : '';
      throw new UsageError(
        `${name} has ${input.rejectedTotal} invalid row(s); nothing was sent (--skip-invalid sends the valid ones):\n${input.rejected.map((r) => `  line ${r.line}: ${r.field}: ${r.message}`).join('\n')}${more}`,
      );
    }
    if (input.names.size === 0) throw new UsageError(`${name} has no valid row`);
    return runSubmission(settings, catalogMode(input, settings, skipped));
  },
};
