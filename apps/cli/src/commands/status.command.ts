/** `maskflow status <batch id> [--watch]`: a batch's counts, percent done, throughput and ETA. */
import type { BatchView } from '../../../../libs/contracts/src/index.js';
import { EXIT, type CliCommand, type CliContext } from '../command.js';
import { ApiRequestRefused, InterruptedError } from '../client/api-errors.js';
import { CLIENT_FLAGS_HELP, clientFromFlags, intFlag, parseFlags } from '../client/client-flags.js';
import { ProgressReporter, formatDuration } from '../progress/progress-reporter.js';
import { pause } from '../submit/submission.js';

export function describeBatch(b: BatchView): string {
  const c = b.counts;
  const finished = c.succeeded + c.failed + c.canceled;
  const waiting = c.total - finished;
  return [
    `batch ${b.id}: ${b.state}`,
    `${finished}/${c.total} done (${b.percent_done}%)`,
    `${c.succeeded} succeeded, ${c.failed} failed, ${c.canceled} canceled`,
    `${waiting} waiting (queued ${c.queued}, submitting ${c.submitting}, processing ${c.processing}, storing ${c.storing})`,
    ...(b.completed_at ? [`completed ${b.completed_at}`] : [`${b.throughput_per_minute}/min`, `ETA ${b.eta_seconds === null ? '?' : formatDuration(b.eta_seconds)}`]),
    ...(b.rejected_total > 0 ? [`${b.rejected_total} rows rejected at ingest`] : []),
  ].join(' · ');
}

async function getBatch(client: ReturnType<typeof clientFromFlags>, id: string, ctx: CliContext): Promise<BatchView | null> {
  try {
    return await client.getBatch(id);
  } catch (err) {
    if (err instanceof ApiRequestRefused && err.status === 404) {
      ctx.err(`maskflow: no batch ${id}`);
      return null;
    }
    throw err;
  }
}

export const status: CliCommand = {
  path: ['status'],
  summary: "a batch's counts, percent done, throughput and ETA (--watch follows it until it completes)",
  usage: 'maskflow status <batch id> [--watch] [--interval <s>] [--json]',
  interruptible: true,
  details: [
    'options:',
    '  --watch           follow the batch until it completes: a live bar on a terminal, a line per --interval otherwise;',
    '                    then exits 0 when no item failed, 1 when some did',
    '  --interval <s>    seconds between updates with --watch (default 2)',
    '  --json            print GET /v1/batches/:id as JSON',
    CLIENT_FLAGS_HELP,
  ].join('\n'),
  async run(args, ctx) {
    const { values, positionals } = parseFlags(args, { watch: { type: 'boolean' }, json: { type: 'boolean' }, interval: { type: 'string' } }, { min: 1, max: 1, what: 'the batch id' });
    const intervalMs = intFlag(values, 'interval', 2, 1, 3600) * 1000;
    const client = clientFromFlags(values, ctx);
    const id = positionals[0]!;
    let batch = await getBatch(client, id, ctx);
    if (!batch) return EXIT.failure;
    const print = (b: BatchView) => ctx.out(values.json ? JSON.stringify(b) : describeBatch(b));
    if (!values.watch) {
      print(batch);
      return EXIT.ok;
    }
    const terminal = (b: BatchView) => b.counts.succeeded + b.counts.failed + b.counts.canceled;
    const tty = process.stderr.isTTY === true && !values.json;
    const bar = tty
      ? new ProgressReporter(process.stderr, () => ({ total: batch!.counts.total, done: terminal(batch!), failed: batch!.counts.failed + batch!.counts.canceled, etaSeconds: batch!.eta_seconds }))
      : null;
    bar?.start();
    try {
      for (;;) {
        if (!tty) print(batch);
        if (batch.completed_at || batch.state !== 'running') break;
        await pause(intervalMs, ctx.signal);
        batch = (await getBatch(client, id, ctx)) ?? batch;
      }
    } catch (err) {
      if (err instanceof InterruptedError) {
        bar?.stop();
        return EXIT.interrupted;
      }
      throw err;
    }
    if (bar) {
      bar.stop();
      print(batch);
    }
    return batch.counts.failed + batch.counts.canceled > 0 ? EXIT.failure : EXIT.ok;
  },
};
