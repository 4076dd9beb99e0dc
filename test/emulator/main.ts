/**
 * Starts the ModelsLab emulator standalone (benchmarks, chaos tests, manual runs):
 *
 *   EMULATOR_PORT=4010 EMULATOR_API_KEY=test-key EMULATOR_MAX_IN_FLIGHT=5 EMULATOR_LATENCY_MS=200 \
 *     npx tsx test/emulator/main.ts
 *
 * Prints its base URL as the only line on stdout; stops cleanly on SIGINT/SIGTERM.
 * Optional extras: EMULATOR_HOST (default 127.0.0.1), EMULATOR_ANSWER (processing|success),
 * EMULATOR_RETRY_AFTER_SECONDS (default 1), EMULATOR_ETA_SECONDS (the `eta` of processing answers, default 1).
 * EMULATOR_CONTROL=1 also starts a control server on loopback and prints its URL as a second stdout line:
 * `GET /stats` (the emulator's counters), `POST /reset-stats`, `GET /submissions` ([track_id, received at ms]
 * per submit) - what a benchmark running the emulator in its own process reads instead of calling stats().
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startModelslabEmulator, type Behaviour } from './modelslab-emulator.js';

function fail(message: string): never {
  process.stderr.write(`modelslab-emulator: ${message}\n`);
  process.exit(1);
}

function intEnv(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  if (!/^\d+$/.test(raw.trim())) fail(`${name} must be an integer, got ${JSON.stringify(raw)}`);
  const n = Number(raw.trim());
  if (n < min || n > max) fail(`${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

function answerEnv(): Behaviour['answer'] {
  const raw = process.env.EMULATOR_ANSWER;
  if (raw === undefined || raw === '') return 'processing';
  if (raw !== 'processing' && raw !== 'success') fail(`EMULATOR_ANSWER must be "processing" or "success", got ${JSON.stringify(raw)}`);
  return raw;
}

const emulator = await startModelslabEmulator({
  port: intEnv('EMULATOR_PORT', 0, 0, 65535),
  host: process.env.EMULATOR_HOST || '127.0.0.1',
  apiKey: process.env.EMULATOR_API_KEY || 'test-key',
  maxInFlight: intEnv('EMULATOR_MAX_IN_FLIGHT', 5, 1, 100_000),
  retryAfterSeconds: intEnv('EMULATOR_RETRY_AFTER_SECONDS', 1, 0, 86_400),
  defaults: { latencyMs: intEnv('EMULATOR_LATENCY_MS', 50, 0, 3_600_000), answer: answerEnv(), etaSeconds: intEnv('EMULATOR_ETA_SECONDS', 1, 0, 86_400) },
});
process.stdout.write(`${emulator.url}\n`);

let control: http.Server | undefined;
if (process.env.EMULATOR_CONTROL === '1') {
  control = http.createServer((req, res) => {
    req.resume();
    const send = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.method === 'GET' && req.url === '/stats') {
      const { submissionsByTrackId, ...counters } = emulator.stats();
      return send(200, { ...counters, submissionsByTrackId: Object.fromEntries(submissionsByTrackId) });
    }
    if (req.method === 'POST' && req.url === '/reset-stats') {
      emulator.resetStats();
      return send(200, { reset: true });
    }
    if (req.method === 'GET' && req.url === '/submissions') return send(200, emulator.submissions.map((s) => [s.trackId, s.receivedAt]));
    send(404, { error: 'not found' });
  });
  await new Promise<void>((resolve) => control!.listen(0, '127.0.0.1', resolve));
  process.stdout.write(`http://127.0.0.1:${(control.address() as AddressInfo).port}\n`);
}

let stopping = false;
async function stop(signal: NodeJS.Signals): Promise<void> {
  if (stopping) return;
  stopping = true;
  const s = emulator.stats();
  process.stderr.write(
    `modelslab-emulator: ${signal}, stopping (submissions ${s.submissions}, rate-limited ${s.rateLimited}, errors ${s.errors}, ` +
      `fetches ${s.fetches}, peak in flight ${s.maxInFlight}, webhooks ${s.webhooksSent} sent / ${s.webhookFailures} failed)\n`,
  );
  control?.close();
  await emulator.close();
  process.exit(0);
}
process.once('SIGINT', (sig) => void stop(sig));
process.once('SIGTERM', (sig) => void stop(sig));
