/** Runs at most `n` tasks at once, in call order; `run` resolves with the task's result. */
export function concurrencyLimit(n: number): { run<T>(task: () => Promise<T>): Promise<T>; active(): number; idle(): Promise<void> } {
  let active = 0;
  const waiting: (() => void)[] = [];
  const idleWaiters: (() => void)[] = [];
  const release = () => {
    const w = waiting.shift();
    if (w) return w(); // the slot passes to the next task
    active--;
    if (active === 0) for (const r of idleWaiters.splice(0)) r();
  };
  return {
    async run<T>(task: () => Promise<T>): Promise<T> {
      if (active < n) active++;
      else await new Promise<void>((r) => waiting.push(r));
      try {
        return await task();
      } finally {
        release();
      }
    },
    active: () => active,
    idle: () => (active === 0 ? Promise.resolve() : new Promise<void>((r) => idleWaiters.push(r))),
  };
}
