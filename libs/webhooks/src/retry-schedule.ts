/**
 * When a failed delivery is tried again: `schedule[n - 1]` after the n-th failed attempt of a round, +-jitter
 * (so a receiver that came back is not hit by every retry at once). Null when the schedule is used up.
 */
export function retryDelayMs(schedule: readonly number[], failedAttempts: number, jitter: number, random: () => number = Math.random): number | null {
  if (failedAttempts < 1 || failedAttempts > schedule.length) return null;
  const base = schedule[failedAttempts - 1]!;
  return Math.max(0, Math.round(base * (1 + jitter * (2 * random() - 1))));
}
