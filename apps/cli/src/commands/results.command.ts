/**
 * `maskflow results <batch id> [--out dir] [--format ndjson|csv]`: a batch's results. Without --out they
 * are printed (streamed) as NDJSON or CSV; with --out they are saved as `<dir>/results.<format>` and every
 * succeeded item's output is downloaded next to them as `<external_id or line-N>.png`, verified by sha256.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { EXIT, UsageError, type CliCommand } from '../command.js';
import { ApiRequestRefused, InterruptedError } from '../client/api-errors.js';
import { CLIENT_FLAGS_HELP, clientFromFlags, intFlag, parseFlags } from '../client/client-flags.js';
import { concurrencyLimit } from '../../../../libs/common/src/index.js';
import { NameAllocator, outputFileName, safeBaseName } from '../submit/output-names.js';
import { OutputDownloadError, alreadyDownloaded, downloadOutput } from '../submit/output-downloader.js';

export const results: CliCommand = {
  path: ['results'],
  summary: "a batch's results as NDJSON or CSV; with --out, also download every output (sha256-verified)",
  usage: 'maskflow results <batch id> [--out <dir>] [--format ndjson|csv] [--concurrency n]',
  interruptible: true,
  details: [
    'options:',
    '  --format ndjson|csv   the results format (default ndjson)',
    '  --out <dir>           save results.<format> there and download each succeeded item\'s output as',
    '                        <external_id or line-N>.png (a file already there with the right sha256 is kept);',
    '                        exits 1 when some items failed or are not finished yet',
    '  --concurrency <n>     downloads at once (default 4)',
    CLIENT_FLAGS_HELP,
  ].join('\n'),
  async run(args, ctx) {
    const { values, positionals } = parseFlags(args, { out: { type: 'string' }, format: { type: 'string' }, concurrency: { type: 'string' } }, { min: 1, max: 1, what: 'the batch id' });
    const format = (values.format as string | undefined) ?? 'ndjson';
    if (format !== 'ndjson' && format !== 'csv') throw new UsageError(`--format must be ndjson or csv (got "${format}")`);
    const concurrency = intFlag(values, 'concurrency', 4, 1, 64);
    const client = clientFromFlags(values, ctx);
    const id = positionals[0]!;
    let stream: ReadableStream<Uint8Array>;
    try {
      stream = await client.resultsStream(id, format);
    } catch (err) {
      if (err instanceof ApiRequestRefused && err.status === 404) {
        ctx.err(`maskflow: no batch ${id}`);
        return EXIT.failure;
      }
      throw err;
    }
    try {
      if (typeof values.out !== 'string') {
        const decoder = new TextDecoder();
        let partial = '';
        for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) {
          partial += decoder.decode(chunk, { stream: true });
          const lines = partial.split('\n');
          partial = lines.pop()!;
          for (const l of lines) ctx.out(l);
        }
        partial += decoder.decode();
        if (partial !== '') ctx.out(partial);
        return EXIT.ok;
      }
      const outDir = path.resolve(values.out);
      await mkdir(outDir, { recursive: true });
      const resultsFile = path.join(outDir, `results.${format}`);
      await writeFile(`${resultsFile}.part`, stream as unknown as AsyncIterable<Uint8Array>);
      await rename(`${resultsFile}.part`, resultsFile);
      const names = new NameAllocator();
      const downloads = concurrencyLimit(concurrency);
      const work: Promise<void>[] = [];
      const counts = { downloaded: 0, kept: 0, failed: 0, unfinished: 0, downloadFailed: 0 };
      for await (const row of client.results(id)) {
        const name = names.allocate(row.external_id ? safeBaseName(row.external_id) : `line-${row.line}`);
        if (row.state === 'failed' || row.state === 'canceled') {
          counts.failed++;
          ctx.out(`line ${row.line}${row.external_id ? ` (${row.external_id})` : ''}: ${row.state}: ${row.error?.code ?? row.state}: ${row.error?.message ?? ''}`);
          continue;
        }
        if (row.state !== 'succeeded') {
          counts.unfinished++;
          continue;
        }
        for (const [idx, o] of row.outputs.entries()) {
          const file = path.join(outDir, outputFileName(name, idx, o.content_type));
          work.push(
            downloads.run(async () => {
              if (await alreadyDownloaded(file, o.sha256, o.bytes)) {
                counts.kept++;
                return;
              }
              try {
                await downloadOutput(o.url, file, o.sha256, ctx.signal);
                counts.downloaded++;
              } catch (err) {
                if (!(err instanceof OutputDownloadError)) throw err;
                counts.downloadFailed++;
                ctx.out(`line ${row.line}: ${err.code}: ${err.message}`);
              }
            }),
          );
        }
      }
      await Promise.all(work);
      ctx.out(
        `results: ${resultsFile}; ${counts.downloaded} downloaded, ${counts.kept} already there, ${counts.failed} failed, ${counts.unfinished} not finished yet${counts.downloadFailed ? `, ${counts.downloadFailed} downloads failed` : ''}`,
      );
      return counts.failed + counts.unfinished + counts.downloadFailed > 0 ? EXIT.failure : EXIT.ok;
    } catch (err) {
      if (err instanceof InterruptedError || ctx.signal.aborted) return EXIT.interrupted;
      throw err;
    }
  },
};
