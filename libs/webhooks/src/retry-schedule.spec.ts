import { loadConfig, parseDurationList } from '../../config/src/config.schema.js';
import { retryDelayMs } from './retry-schedule.js';

describe('retryDelayMs', () => {
  const schedule = [5000, 300_000, 1_800_000];

  it('follows the schedule after each failed attempt and stops when it runs out', () => {
    const mid = () => 0.5;
    expect([1, 2, 3].map((n) => retryDelayMs(schedule, n, 0.2, mid))).toEqual(schedule);
    expect(retryDelayMs(schedule, 4, 0.2, mid)).toBeNull();
    expect(retryDelayMs(schedule, 0, 0.2, mid)).toBeNull();
  });

  it('spreads each delay by +-jitter', () => {
    expect(retryDelayMs(schedule, 2, 0.2, () => 0)).toBe(240_000);
    expect(retryDelayMs(schedule, 2, 0.2, () => 1)).toBe(360_000);
    const seen = new Set(Array.from({ length: 50 }, () => retryDelayMs(schedule, 1, 0.2)));
    expect(seen.size).toBeGreaterThan(10);
    for (const d of seen) expect(d! >= 4000 && d! <= 6000).toBe(true);
  });
});

describe('WEBHOOK_* configuration', () => {
  it('defaults to about a day and a half of retries over 7 attempts', () => {
    const c = loadConfig({});
    expect(c.webhooks.retryScheduleMs).toEqual([5000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 50_400_000]);
    expect(c.webhooks.retryScheduleMs.reduce((a, b) => a + b, 0) / 3_600_000).toBeCloseTo(31.6, 1);
    expect(c.webhooks).toMatchObject({ jitter: 0.2, timeoutMs: 10_000, secretGraceSeconds: 86_400 });
  });

  it('parses a shrunken schedule and refuses a bad one naming the variable', () => {
    expect(loadConfig({ WEBHOOK_RETRY_SCHEDULE: '100ms, 2s,1m,1h' }).webhooks.retryScheduleMs).toEqual([100, 2000, 60_000, 3_600_000]);
    expect(parseDurationList('5x')).toBeUndefined();
    expect(() => loadConfig({ WEBHOOK_RETRY_SCHEDULE: '5 minutes' })).toThrow(/WEBHOOK_RETRY_SCHEDULE/);
    expect(() => loadConfig({ WEBHOOK_TIMEOUT_MS: '60000' })).toThrow(/WEBHOOK_TIMEOUT_MS/);
  });
});
