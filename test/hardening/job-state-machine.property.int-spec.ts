/**
 * Property: whatever order the events of a job arrive in (submit answers, webhooks and polls with success or
 * failure, a late webhook of an earlier attempt, retryable provider errors, the store step, cancel, retry,
 * and duplicates of any of them), applied through the real JobRepository conditional UPDATEs against real
 * Postgres, the job is always in a valid state: terminal states are exactly succeeded/failed/canceled with
 * completed_at set, succeeded only with outputs, failed only with an error code, attempt counters never go
 * down, at most one attempt is open, and a resolved attempt never changes again.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { loadConfig } from '../../libs/config/src/index.js';
import { JOB_STATES, TERMINAL_STATES } from '../../libs/contracts/src/index.js';
import { JobRepository, PrismaService, type ProviderResult } from '../../libs/db/src/index.js';
import { TEST_DATABASE_URL } from '../support/test-env.js';

type Which = 'current' | 'earlier';
type Cmd =
  | { t: 'start' }
  | { t: 'answer'; kind: ProviderResult['kind']; source: 'submit' | 'poll' | 'webhook'; which: Which }
  | { t: 'garbage'; which: Which }
  | { t: 'requeue' }
  | { t: 'store' }
  | { t: 'storeFails' }
  | { t: 'cancel' }
  | { t: 'retry' }
  | { t: 'duplicate' };

const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  { arbitrary: fc.constant({ t: 'start' as const }), weight: 3 },
  {
    arbitrary: fc.record({
      t: fc.constant('answer' as const),
      kind: fc.constantFrom('processing' as const, 'success' as const, 'failed' as const),
      source: fc.constantFrom('submit' as const, 'poll' as const, 'webhook' as const),
      which: fc.constantFrom('current' as const, 'current' as const, 'earlier' as const),
    }),
    weight: 6,
  },
  { arbitrary: fc.record({ t: fc.constant('garbage' as const), which: fc.constantFrom('current' as const, 'earlier' as const) }), weight: 1 },
  { arbitrary: fc.constant({ t: 'requeue' as const }), weight: 1 },
  { arbitrary: fc.constant({ t: 'store' as const }), weight: 2 },
  { arbitrary: fc.constant({ t: 'storeFails' as const }), weight: 1 },
  { arbitrary: fc.constant({ t: 'cancel' as const }), weight: 1 },
  { arbitrary: fc.constant({ t: 'retry' as const }), weight: 1 },
  { arbitrary: fc.constant({ t: 'duplicate' as const }), weight: 2 },
);

const RESOLVED = new Set(['succeeded', 'failed', 'abandoned']);

let prisma: PrismaService;
let jobs: JobRepository;

beforeAll(() => {
  prisma = new PrismaService(loadConfig({ DATABASE_URL: TEST_DATABASE_URL, NODE_ENV: 'test', API_KEYS: 'k' }));
  jobs = new JobRepository(prisma);
});
afterAll(async () => {
  // Leave no job unfinished: the workers of the test files after this one reconcile (submit) them.
  await prisma.$executeRaw`UPDATE jobs SET state = 'canceled', completed_at = now() WHERE image_url = 'https://x.test/a.png' AND state NOT IN ('succeeded', 'failed', 'canceled')`;
  await prisma.$disconnect();
  await prisma.pool.end();
});

async function run(jobId: string, c: Cmd, prev: Cmd | undefined): Promise<void> {
  if (c.t === 'duplicate') return prev ? run(jobId, prev, undefined) : undefined;
  const job = (await jobs.findById(jobId))!;
  const attempts = await prisma.jobAttempt.findMany({ where: { jobId }, orderBy: { attemptNo: 'asc' } });
  const pick = (which: Which) => (which === 'current' ? job.currentAttempt : (attempts[0]?.id ?? null));
  switch (c.t) {
    case 'start':
      await jobs.startAttempt(jobId, 'modelslab', randomUUID());
      return;
    case 'answer': {
      const attemptId = pick(c.which);
      const requestId = `req-${attemptId}`; // the provider's id of that attempt (unique per provider)
      const result: ProviderResult =
        c.kind === 'processing' ? { kind: 'processing', requestId, etaSeconds: 1 } : c.kind === 'success' ? { kind: 'success', requestId, outputs: ['https://cdn.test/0.png'] } : { kind: 'failed', requestId, message: 'provider failed' };
      await jobs.applyProviderResult(attemptId, result, c.source, { status: c.kind });
      return;
    }
    case 'garbage':
      await jobs.applyProviderResult(pick(c.which), null, 'webhook', { nonsense: true });
      return;
    case 'requeue':
      if (job.currentAttempt !== null) await jobs.requeueAfterFailedAttempt(jobId, job.currentAttempt, 'provider_unavailable', '503');
      return;
    case 'store':
      // What StoreOutputsProcessor does: only for a storing job and its current attempt.
      if (job.state === 'storing' && job.currentAttempt !== null) {
        await jobs.saveOutput({ jobId, idx: 0, s3Key: `outputs/${jobId}/0.png`, sha256: 'x'.repeat(64), bytes: 10, contentType: 'image/png' });
        await jobs.markSucceeded(jobId, job.currentAttempt);
      }
      return;
    case 'storeFails':
      await jobs.fail(jobId, ['storing'], 'storage_failed', 'S3 down');
      return;
    case 'cancel':
      await jobs.cancel('default', jobId);
      return;
    case 'retry':
      await jobs.retry('default', jobId);
      return;
  }
}

interface Seen {
  attemptCount: number;
  runNo: number;
  attempts: Map<bigint, string>;
}

async function checkInvariants(jobId: string, seen: Seen): Promise<void> {
  const job = (await prisma.job.findUnique({ where: { id: jobId }, include: { outputs: true, attempts: { orderBy: { attemptNo: 'asc' } } } }))!;
  expect(JOB_STATES).toContain(job.state);
  const terminal = TERMINAL_STATES.includes(job.state);
  expect(job.completedAt !== null).toBe(terminal);
  if (job.state === 'succeeded') expect(job.outputs.length).toBeGreaterThan(0);
  if (job.state === 'failed') expect(job.errorCode).toBeTruthy();
  if (!['failed'].includes(job.state)) expect(job.errorCode).toBeNull();
  expect(job.attemptCount).toBeGreaterThanOrEqual(seen.attemptCount);
  expect(job.runNo).toBeGreaterThanOrEqual(seen.runNo);
  expect(job.attemptCount).toBe(job.attempts.length);
  const open = job.attempts.filter((a) => !RESOLVED.has(a.state));
  expect(open.length).toBeLessThanOrEqual(1);
  if (job.attempts.length > 0) expect(job.currentAttempt).toBe(job.attempts[job.attempts.length - 1]!.id);
  if (['submitting', 'processing'].includes(job.state)) expect(open.map((a) => a.id)).toEqual([job.currentAttempt]);
  if (job.state === 'storing') {
    const current = job.attempts.find((a) => a.id === job.currentAttempt)!;
    expect(current.state).toBe('succeeded');
    expect(current.outputs).toBeTruthy();
  }
  for (const a of job.attempts) {
    const before = seen.attempts.get(a.id);
    if (before && RESOLVED.has(before)) expect(a.state).toBe(before);
    if (before === 'processing') expect(a.state).not.toBe('submitting');
    seen.attempts.set(a.id, a.state);
  }
  seen.attemptCount = job.attemptCount;
  seen.runNo = job.runNo;
}

it('any order of events ends in a valid state (fast-check, real Postgres)', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(cmd, { minLength: 1, maxLength: 14 }), async (cmds) => {
      const id = randomUUID();
      await jobs.create({ id, tenantId: 'default', trackId: id, options: {}, imageUrl: 'https://x.test/a.png' });
      const seen: Seen = { attemptCount: 0, runNo: 0, attempts: new Map() };
      let prev: Cmd | undefined;
      for (const c of cmds) {
        await run(id, c, prev);
        if (c.t !== 'duplicate') prev = c;
        await checkInvariants(id, seen);
      }
    }),
    { numRuns: 40 },
  );
}, 60_000);

it('a success reached through the whole path is reachable (the property is not vacuous)', async () => {
  const id = randomUUID();
  await jobs.create({ id, tenantId: 'default', trackId: id, options: {}, imageUrl: 'https://x.test/a.png' });
  for (const c of [{ t: 'start' }, { t: 'answer', kind: 'processing', source: 'submit', which: 'current' }, { t: 'answer', kind: 'success', source: 'webhook', which: 'current' }, { t: 'store' }] as Cmd[]) await run(id, c, undefined);
  expect((await jobs.findById(id))!.state).toBe('succeeded');
});
