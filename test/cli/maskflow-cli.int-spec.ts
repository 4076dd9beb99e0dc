/**
 * The `maskflow` CLI driven as a person would: spawned as a real process (node dist/apps/cli/src/main.js)
 * against a real stack (API over HTTP, worker, Postgres, Redis, radosgw S3, the ModelsLab emulator, an
 * image server). Folder and CSV submits end to end (outputs byte-identical to the S3 objects), a bad CSV,
 * failing items, an interrupted run resumed (with and without its state file), the progress bar under a
 * pseudo-terminal, `status` and `results`, and the exit codes.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { startModelslabEmulator, type ModelslabEmulator } from '../emulator/modelslab-emulator.js';
import { makePng, startImageServer, type ImageServer } from '../support/image-server.js';
import { TEST_API_KEY, startStack, truncateAll, type Stack } from '../support/stack.js';
import { until } from '../support/until.js';

const CLI = path.resolve('dist/apps/cli/src/main.js');
let emulator: ModelslabEmulator;
let images: ImageServer;
let stack: Stack;
let work: string;

beforeAll(async () => {
  emulator = await startModelslabEmulator({ apiKey: 'emu-key', maxInFlight: 20 });
  images = await startImageServer(8);
  stack = await startStack({
    providerUrl: emulator.url,
    providerKey: 'emu-key',
    maxInFlight: 8,
    env: { BATCH_WINDOW: '20', BATCH_FEED_INTERVAL_MS: '50', STORE_CONCURRENCY: '8' },
  });
});

afterAll(async () => {
  await stack?.close();
  await emulator?.close();
  await images?.close();
});

beforeEach(async () => {
  await truncateAll();
  emulator.setDecide(undefined);
  emulator.setDefaults({ answer: 'processing', latencyMs: 20, webhook: 'once', etaSeconds: 1, fail: false, error: undefined });
  emulator.resetStats();
  work = mkdtempSync(path.join(tmpdir(), 'maskflow-cli-'));
});

afterEach(() => rmSync(work, { recursive: true, force: true }));

interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

const cliEnv = (extra: Record<string, string> = {}) => ({ ...process.env, MASKFLOW_API_URL: stack.url, MASKFLOW_API_KEY: TEST_API_KEY, ...extra });

function start(args: string[], env: Record<string, string> = {}): Run {
  const child = spawn(process.execPath, [CLI, ...args], { env: cliEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal, stdout: out, stderr: err })),
  );
  return { child, stdout: () => out, stderr: () => err, done };
}
const cli = (args: string[], env: Record<string, string> = {}) => start(args, env).done;

/** Submits the emulator accepted since `from` (its log spans the whole file). */
/**
 * An interruption test must interrupt: the first `quick` submits take `latencyMs`, every later one is held
 * for `holdMs`, so a SIGINT sent after the first outputs lands with most items unfinished however loaded the
 * machine is (the held ones finish by themselves, so a resumed run still completes).
 */
function holdAfter(quick: number, latencyMs: number, holdMs = 12_000): void {
  let seen = 0;
  emulator.setDefaults({ latencyMs });
  emulator.setDecide(() => (++seen > quick ? { latencyMs: holdMs } : undefined));
}

const accepted = (from: number) => emulator.submissions.slice(from).filter((s) => s.outcome === 'processing' || s.outcome === 'success');

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const fileSha = (f: string) => sha256(readFileSync(f));
const report = (out: string) => JSON.parse(readFileSync(path.join(out, 'maskflow-report.json'), 'utf8'));
const state = (out: string) => JSON.parse(readFileSync(path.join(out, '.maskflow-state.json'), 'utf8'));

async function s3Object(key: string): Promise<Buffer> {
  const res = await stack.s3.send(new GetObjectCommand({ Bucket: stack.config.s3.bucket, Key: key }));
  return Buffer.from(await res.Body!.transformToByteArray());
}

/** Every output file in `out` (as the report lists them) is byte-identical to its job's S3 object. */
async function expectOutputsMatchS3(out: string, expectedNames: string[]): Promise<void> {
  const r = report(out);
  const files = r.done.flatMap((d: { job_id: string; files: { file: string; sha256: string }[] }) => d.files.map((f) => ({ ...f, job_id: d.job_id })));
  expect(files.map((f: { file: string }) => f.file).sort()).toEqual([...expectedNames].sort());
  for (const f of files) {
    const { rows } = await stack.db.query('SELECT s3_key, sha256 FROM job_outputs WHERE job_id = $1 AND idx = 0', [f.job_id]);
    expect(rows).toHaveLength(1);
    const object = await s3Object(rows[0].s3_key);
    const local = readFileSync(path.join(out, f.file));
    expect(sha256(local)).toBe(sha256(object));
    expect(sha256(local)).toBe(rows[0].sha256);
    expect(f.sha256).toBe(rows[0].sha256);
  }
}

async function makeFolder(name: string, count: number, seed = 1): Promise<string> {
  const dir = path.join(work, name);
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < count; i++) writeFileSync(path.join(dir, `photo-${String(i).padStart(2, '0')}.png`), await makePng(seed + i, 40 + i, 30));
  return dir;
}

describe('maskflow submit <folder>', () => {
  it('uploads every image, downloads each cut-out under its own name (sha256 = the S3 object), reports and exits 0', async () => {
    const dir = await makeFolder('shoot', 4);
    mkdirSync(path.join(dir, 'more'));
    writeFileSync(path.join(dir, 'more', 'extra.png'), await makePng(99));
    writeFileSync(path.join(dir, 'notes.txt'), 'not an image');
    const out = path.join(work, 'out');
    const r = await cli(['submit', dir, '--out', out, '--option', 'only_mask=true', '--concurrency', '3']);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    expect(r.stdout).toContain('finished: 5 done, 0 failed, 1 skipped');
    expect(r.stdout).toContain('notes.txt: not an image file');
    // Not a terminal: plain progress lines, the last one complete.
    expect(r.stderr).toMatch(/maskflow: 5\/5 · 100%/);
    await expectOutputsMatchS3(out, ['photo-00.png', 'photo-01.png', 'photo-02.png', 'photo-03.png', 'more/extra.png']);
    const rep = report(out);
    expect(rep.counts).toEqual({ total: 5, done: 5, failed: 0, skipped: 1, pending: 0 });
    expect(rep.skipped).toEqual([{ input: 'notes.txt', reason: expect.stringContaining('not an image') }]);
    // One job per file, with the options and the file's path as track_id.
    const { rows } = await stack.db.query('SELECT track_id, options FROM jobs ORDER BY track_id');
    expect(rows.map((j) => j.track_id)).toEqual(['more/extra.png', 'photo-00.png', 'photo-01.png', 'photo-02.png', 'photo-03.png']);
    expect(rows.every((j) => j.options.only_mask === true)).toBe(true);
    expect(readdirSync(out).filter((f) => f.endsWith('.part') || f.endsWith('.tmp'))).toEqual([]);

    // The same command again: nothing is uploaded or submitted again, nothing downloaded again, exit 0.
    const before = statSync(path.join(out, 'photo-00.png')).mtimeMs;
    const submitsBefore = emulator.stats().submissions;
    const again = await cli(['submit', dir, '--out', out, '--option', 'only_mask=true']);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('resuming: 5 of 5 already finished');
    expect(emulator.stats().submissions).toBe(submitsBefore);
    expect(statSync(path.join(out, 'photo-00.png')).mtimeMs).toBe(before);
    expect((await stack.db.query('SELECT count(*)::int AS n FROM jobs')).rows[0].n).toBe(5);
  });

  it('an interrupted run (SIGINT after some progress) exits 130 and the re-run resumes: no file submitted twice, every output present', async () => {
    holdAfter(3, 400);
    const dir = await makeFolder('big', 12, 20);
    const out = path.join(work, 'out');
    const log = emulator.submissions.length;
    const first = start(['submit', dir, '--out', out, '--concurrency', '2', '--progress-interval', '1']);
    // Some progress: a few outputs downloaded and recorded in the state file, most items not done yet.
    await until(() => existsSync(path.join(out, '.maskflow-state.json')) && Object.values(state(out).items).filter((i: any) => i.files).length >= 2, {
      timeoutMs: 30_000,
      what: 'two outputs downloaded',
    });
    first.child.kill('SIGINT');
    const interrupted = await first.done;
    expect(interrupted.code).toBe(130);
    expect(interrupted.stdout).toContain('interrupted:');
    expect(interrupted.stdout).toContain('re-run the same command to resume');
    expect(interrupted.stderr).toMatch(/^maskflow: \d+\/12 · \d+% · [\d.]+\/s · ETA [?\d:]+/m); // plain progress lines off a terminal
    const saved = state(out);
    const doneBefore = Object.entries(saved.items).filter(([, i]: [string, any]) => i.files).map(([k]) => k);
    expect(doneBefore.length).toBeGreaterThanOrEqual(2);
    expect(doneBefore.length).toBeLessThan(12);
    expect(report(out).interrupted).toBe(true);
    const mtimes = new Map(doneBefore.map((k) => [k, statSync(path.join(out, k)).mtimeMs]));

    emulator.setDecide(undefined);
    emulator.setDefaults({ latencyMs: 20 });
    const resumed = await cli(['submit', dir, '--out', out, '--concurrency', '2']);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain(`resuming: ${doneBefore.length} of 12 already finished`);
    expect(resumed.stdout).toContain('finished: 12 done, 0 failed, 0 skipped');
    // Every file has exactly one job, each submitted to the provider once; finished outputs were not fetched again.
    const { rows } = await stack.db.query('SELECT track_id, count(*)::int AS n FROM jobs GROUP BY track_id');
    expect(rows).toHaveLength(12);
    expect(rows.every((r) => r.n === 1)).toBe(true);
    const attempts = await stack.db.query('SELECT job_id, count(*)::int AS n FROM job_attempts GROUP BY job_id');
    expect(attempts.rows.every((r) => r.n === 1)).toBe(true);
    expect(accepted(log)).toHaveLength(12);
    for (const [k, m] of mtimes) expect(statSync(path.join(out, k)).mtimeMs).toBe(m);
    await expectOutputsMatchS3(out, Array.from({ length: 12 }, (_, i) => `photo-${String(i).padStart(2, '0')}.png`));
  });

  it('killed outright (SIGKILL) while uploading, the re-run creates no second job for any file', async () => {
    const dir = await makeFolder('killed', 16, 60);
    const out = path.join(work, 'out');
    const first = start(['submit', dir, '--out', out, '--concurrency', '1']);
    await until(async () => (await stack.db.query('SELECT count(*)::int AS n FROM jobs')).rows[0].n >= 3, { timeoutMs: 30_000, what: 'three uploads' });
    first.child.kill('SIGKILL');
    expect((await first.done).signal).toBe('SIGKILL');
    expect((await stack.db.query('SELECT count(*)::int AS n FROM jobs')).rows[0].n).toBeLessThan(16);
    const resumed = await cli(['submit', dir, '--out', out, '--concurrency', '4']);
    expect(resumed.code).toBe(0);
    const { rows } = await stack.db.query('SELECT track_id, count(*)::int AS n FROM jobs GROUP BY track_id');
    expect(rows).toHaveLength(16);
    expect(rows.every((r) => r.n === 1)).toBe(true);
    await expectOutputsMatchS3(out, Array.from({ length: 16 }, (_, i) => `photo-${String(i).padStart(2, '0')}.png`));
  });

  it('without its state file the re-run still creates no second job (Idempotency-Key from the content) and keeps verified files', async () => {
    const dir = await makeFolder('again', 3, 40);
    const out = path.join(work, 'out');
    expect((await cli(['submit', dir, '--out', out])).code).toBe(0);
    const mtime = statSync(path.join(out, 'photo-01.png')).mtimeMs;
    rmSync(path.join(out, '.maskflow-state.json'));
    writeFileSync(path.join(out, 'photo-02.png'), 'damaged'); // a file that no longer matches is fetched again
    const again = await cli(['submit', dir, '--out', out]);
    expect(again.code).toBe(0);
    expect((await stack.db.query('SELECT count(*)::int AS n FROM jobs')).rows[0].n).toBe(3);
    expect(statSync(path.join(out, 'photo-01.png')).mtimeMs).toBe(mtime);
    await expectOutputsMatchS3(out, ['photo-00.png', 'photo-01.png', 'photo-02.png']);
  });
});

describe('maskflow submit <catalog>', () => {
  const csv = (rows: string[]) => ['image_url,external_id,only_mask', ...rows].join('\n') + '\n';

  it('sends a CSV as one streamed batch and names outputs by external_id, else the URL (de-duplicated)', async () => {
    const file = path.join(work, 'catalog.csv');
    writeFileSync(file, csv([`${images.imageUrl('img-0.png')},sku-1,true`, `${images.imageUrl('img-1.png')},,`, `${images.imageUrl('img-1.png')},,`, `${images.imageUrl('img-2.png')},sku/3,`]));
    const out = path.join(work, 'out');
    const r = await cli(['submit', file, '--out', out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('finished: 4 done, 0 failed, 0 skipped');
    const batches = await stack.db.query('SELECT id, format FROM batches');
    expect(batches.rows).toEqual([{ id: state(out).batch_id, format: 'csv' }]);
    await expectOutputsMatchS3(out, ['sku-1.png', 'img-1.png', 'img-1-2.png', 'sku_3.png']);
    expect(report(out).done.map((d: { input: string }) => d.input)).toEqual(['catalog.csv line 2', 'catalog.csv line 3', 'catalog.csv line 4', 'catalog.csv line 5']);
  });

  it('a bad CSV exits 2 naming the lines, and sends nothing', async () => {
    const file = path.join(work, 'bad.csv');
    writeFileSync(file, csv([`${images.imageUrl('img-0.png')},a,`, 'not a url,b,', `${images.imageUrl('img-1.png')},c,maybe`]));
    const r = await cli(['submit', file, '--out', path.join(work, 'out')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('bad.csv has 2 invalid row(s); nothing was sent');
    expect(r.stderr).toMatch(/line 3: image_url: /);
    expect(r.stderr).toMatch(/line 4: options\.only_mask: |line 4: only_mask: /);
    const header = path.join(work, 'header.csv');
    writeFileSync(header, 'image_url,colour\nhttps://example.com/a.png,red\n');
    const h = await cli(['submit', header, '--out', path.join(work, 'out')]);
    expect(h.code).toBe(2);
    expect(h.stderr).toContain('header: CSV column "colour" is not known');
    const missing = await cli(['submit', path.join(work, 'nope.csv'), '--out', path.join(work, 'out')]);
    expect([missing.code, missing.stderr]).toEqual([2, expect.stringContaining('nope.csv does not exist')]);
    const noOut = await cli(['submit', file]);
    expect([noOut.code, noOut.stderr]).toEqual([2, expect.stringContaining('--out <dir> is required')]);
    const badOption = await cli(['submit', header, '--out', path.join(work, 'out'), '--option', 'alpha_matting_erode_size=9']);
    expect([badOption.code, badOption.stderr]).toEqual([2, expect.stringContaining('alpha_matting_erode_size')]);
    expect((await stack.db.query('SELECT count(*)::int AS n FROM batches')).rows[0].n).toBe(0);
    expect(emulator.stats().submissions).toBe(0);
    // --skip-invalid: the valid row runs, the invalid ones are reported as skipped with their reasons.
    const out = path.join(work, 'skip');
    const skipped = await cli(['submit', file, '--out', out, '--skip-invalid']);
    expect(skipped.code).toBe(0);
    expect(skipped.stdout).toContain('finished: 1 done, 0 failed, 2 skipped');
    expect(report(out).skipped).toEqual([
      { input: 'bad.csv line 3', reason: expect.stringContaining('image_url') },
      { input: 'bad.csv line 4', reason: expect.stringContaining('only_mask') },
    ]);
    await expectOutputsMatchS3(out, ['a.png']);
  });

  it('items that fail exit 1; the summary and the report list them with reasons; --retry-failed runs them again', async () => {
    emulator.setDecide((req) => (String(req.body.image).includes('img-3') ? { fail: true } : undefined));
    const file = path.join(work, 'catalog.ndjson');
    const rows = [0, 1, 2, 3, 4].map((i) => JSON.stringify({ image_url: images.imageUrl(`img-${i}.png`), external_id: `sku-${i}` }));
    writeFileSync(file, rows.join('\n') + '\n');
    const out = path.join(work, 'out');
    const r = await cli(['submit', file, '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('finished: 4 done, 1 failed, 0 skipped');
    expect(r.stdout).toMatch(/failed:\n {2}catalog\.ndjson line 4: provider_failed: /);
    const rep = report(out);
    expect(rep.failed).toEqual([{ input: 'catalog.ndjson line 4', job_id: expect.any(String), code: 'provider_failed', message: expect.any(String) }]);
    expect(existsSync(path.join(out, 'sku-3.png'))).toBe(false);
    await expectOutputsMatchS3(out, ['sku-0.png', 'sku-1.png', 'sku-2.png', 'sku-4.png']);

    emulator.setDecide(undefined);
    const retried = await cli(['submit', file, '--out', out, '--retry-failed']);
    expect(retried.code).toBe(0);
    expect(retried.stdout).toContain('finished: 5 done, 0 failed');
    await expectOutputsMatchS3(out, ['sku-0.png', 'sku-1.png', 'sku-2.png', 'sku-3.png', 'sku-4.png']);
    expect((await stack.db.query('SELECT count(*)::int AS n FROM batches')).rows[0].n).toBe(1);
  });

  it('an interrupted catalog run resumes on the same batch even when its state file is lost', async () => {
    holdAfter(3, 300);
    const file = path.join(work, 'catalog.ndjson');
    writeFileSync(file, Array.from({ length: 16 }, (_, i) => JSON.stringify({ image_url: images.imageUrl(`img-${i % 8}.png`), external_id: `p${i}` })).join('\n') + '\n');
    const out = path.join(work, 'out');
    const log = emulator.submissions.length;
    const first = start(['submit', file, '--out', out, '--concurrency', '2']);
    await until(() => existsSync(path.join(out, 'p0.png')) || existsSync(path.join(out, 'p1.png')), { timeoutMs: 30_000, what: 'a first output' });
    first.child.kill('SIGINT');
    expect((await first.done).code).toBe(130);
    rmSync(path.join(out, '.maskflow-state.json'));
    emulator.setDecide(undefined);
    emulator.setDefaults({ latencyMs: 20 });
    const resumed = await cli(['submit', file, '--out', out]);
    expect(resumed.code).toBe(0);
    expect((await stack.db.query('SELECT count(*)::int AS n FROM batches')).rows[0].n).toBe(1);
    expect((await stack.db.query('SELECT count(*)::int AS n FROM jobs')).rows[0].n).toBe(16);
    expect(accepted(log)).toHaveLength(16);
    await expectOutputsMatchS3(out, Array.from({ length: 16 }, (_, i) => `p${i}.png`));
  });

  it('draws a live progress bar on a terminal (run under a pseudo-terminal)', async () => {
    emulator.setDefaults({ latencyMs: 150 });
    const file = path.join(work, 'tty.ndjson');
    writeFileSync(file, Array.from({ length: 8 }, (_, i) => JSON.stringify({ image_url: images.imageUrl(`img-${i}.png`) })).join('\n') + '\n');
    const out = path.join(work, 'out');
    const quote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;
    const command = [process.execPath, CLI, 'submit', file, '--out', out].map(quote).join(' ');
    const child = spawn('script', ['-qfec', command, '/dev/null'], { env: cliEnv({ COLUMNS: '120' }), stdio: ['ignore', 'pipe', 'pipe'] });
    let tty = '';
    child.stdout!.on('data', (d: Buffer) => (tty += d.toString()));
    const code = await new Promise((r) => child.once('close', r));
    expect(code).toBe(0);
    expect(tty).toContain('\r\x1b[K['); // redrawn in place
    expect(tty).toMatch(/\[█+░*\] \d\/8 · \d+% · /);
    expect(tty).toMatch(/\[█+\] 8\/8 · 100% · [\d.]+\/s · ETA 0:00/);
    expect(tty).toContain('finished: 8 done, 0 failed, 0 skipped');
  });
});

describe('maskflow status / results', () => {
  async function runBatch(n: number): Promise<string> {
    const items = Array.from({ length: n }, (_, i) => ({ image_url: images.imageUrl(`img-${i % 8}.png`), external_id: i === 1 ? 'dup' : i === 2 ? 'dup' : `item-${i}` }));
    const res = await stack.request('POST', '/v1/batches', { items });
    expect(res.status).toBe(202);
    return res.body.id;
  }

  it('status shows counts, percent and ETA; --watch follows to completion; results print and download', async () => {
    emulator.setDefaults({ latencyMs: 200 });
    const id = await runBatch(6);
    const watched = await cli(['status', id, '--watch', '--interval', '1']);
    expect(watched.code).toBe(0);
    const lines = watched.stdout.trim().split('\n');
    expect(lines[lines.length - 1]).toMatch(new RegExp(`^batch ${id}: completed · 6/6 done \\(100%\\) · 6 succeeded, 0 failed, 0 canceled · 0 waiting`));
    const once = await cli(['status', id]);
    expect([once.code, once.stdout]).toEqual([0, expect.stringContaining('6/6 done (100%)')]);
    const json = await cli(['status', id, '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ id, state: 'completed', counts: { total: 6, succeeded: 6 } });

    const csvOut = await cli(['results', id, '--format', 'csv']);
    expect(csvOut.code).toBe(0);
    const csvLines = csvOut.stdout.trim().split('\n');
    expect(csvLines[0]).toBe('line,external_id,job_id,state,output_urls,output_sha256,error_code,error_message,completed_at');
    expect(csvLines).toHaveLength(7);
    const nd = await cli(['results', id]);
    expect(nd.stdout.trim().split('\n').map((l) => JSON.parse(l).line)).toEqual([1, 2, 3, 4, 5, 6]);

    const out = path.join(work, 'results');
    const dl = await cli(['results', id, '--out', out]);
    expect(dl.code).toBe(0);
    expect(dl.stdout).toContain('6 downloaded, 0 already there, 0 failed');
    expect(readdirSync(out).sort()).toEqual(['dup-2.png', 'dup.png', 'item-0.png', 'item-3.png', 'item-4.png', 'item-5.png', 'results.ndjson']);
    const { rows } = await stack.db.query('SELECT j.external_id, o.s3_key FROM jobs j JOIN job_outputs o ON o.job_id = j.id WHERE j.batch_id = $1 ORDER BY j.batch_seq', [id]);
    const byName = ['item-0', 'dup', 'dup-2', 'item-3', 'item-4', 'item-5'];
    for (const [i, row] of rows.entries()) expect(fileSha(path.join(out, `${byName[i]}.png`))).toBe(sha256(await s3Object(row.s3_key)));
    const again = await cli(['results', id, '--out', out]);
    expect(again.stdout).toContain('0 downloaded, 6 already there');
  });

  it('exit codes: unknown batch 1, wrong key 3, unreachable API 3, bad arguments 2; --help documents them', async () => {
    const unknown = await cli(['status', '00000000-0000-4000-8000-000000000000']);
    expect([unknown.code, unknown.stderr]).toEqual([1, expect.stringContaining('no batch')]);
    const badKey = await cli(['status', '00000000-0000-4000-8000-000000000000'], { MASKFLOW_API_KEY: 'wrong-key-0123456789' });
    expect([badKey.code, badKey.stderr]).toEqual([3, expect.stringContaining('refused the key')]);
    const dir = await makeFolder('x', 1);
    const down = await cli(['submit', dir, '--out', path.join(work, 'o'), '--api-url', 'http://127.0.0.1:9']);
    expect([down.code, down.stderr]).toEqual([3, expect.stringContaining('cannot reach the maskflow API at http://127.0.0.1:9')]);
    expect((await cli(['results', 'x', '--format', 'xml'])).code).toBe(2);
    expect((await cli(['submit', path.join(work, 'missing-folder'), '--out', path.join(work, 'o')])).code).toBe(2);
    // Through a symlink, as npx and node_modules/.bin run it.
    symlinkSync(CLI, path.join(work, 'maskflow'));
    const viaLink = await new Promise<string>((resolve) => execFile(process.execPath, [path.join(work, 'maskflow'), '--help'], (_e, stdout) => resolve(stdout)));
    expect(viaLink).toContain('usage: maskflow <command>');
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('maskflow submit <folder | file.csv | file.ndjson> --out <dir>');
    expect(help.stdout).toMatch(/exit codes:\n {2}0 +everything done\n {2}1 +some items failed/);
    expect(help.stdout).toMatch(/130 +interrupted/);
  });
});
