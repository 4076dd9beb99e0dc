/**
 * Live progress on stderr. On a terminal: one bar redrawn in place,
 * `[█████░░░░░] 12/40 30% · 2.5/s · ETA 0:11 · 1 failed · uploading 4`. Otherwise (a pipe, a CI log):
 * a plain line every `plainIntervalMs` when something changed, and one at the end.
 */

export interface ProgressSnapshot {
  total: number;
  /** Items finished: downloaded, or failed / canceled. */
  done: number;
  failed: number;
  /** What is under way, e.g. "uploading 4" (optional). */
  activity?: string;
  /** The server's ETA when it knows better (batches), in seconds. */
  etaSeconds?: number | null;
}

export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(s: string): boolean;
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

export function percent(done: number, total: number): string {
  return `${total === 0 ? 100 : Math.floor((done / total) * 100)}%`;
}

export class ProgressReporter {
  private timer: NodeJS.Timeout | null = null;
  private readonly startedAt = Date.now();
  private baseline: number | null = null;
  private lastPlain = '';
  private lastPlainAt = 0;

  constructor(
    private readonly stream: ProgressStream,
    private readonly snapshot: () => ProgressSnapshot,
    private readonly opts: { plainIntervalMs?: number; label?: string } = {},
  ) {}

  get tty(): boolean {
    return this.stream.isTTY === true;
  }

  start(): void {
    this.timer = setInterval(() => this.render(false), this.tty ? 200 : Math.min(this.opts.plainIntervalMs ?? 5000, 1000));
    this.timer.unref();
    this.render(false);
  }

  /** Draws the last state and ends the bar's line. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.render(true);
    if (this.tty) this.stream.write('\n');
  }

  /** A line above the bar (the bar is redrawn below it). */
  log(line: string): void {
    this.stream.write(this.tty ? `\r\x1b[K${line}\n` : `${line}\n`);
    if (this.tty && this.timer) this.render(false);
  }

  line(s: ProgressSnapshot): string {
    this.baseline ??= s.done;
    const elapsed = (Date.now() - this.startedAt) / 1000;
    const rate = elapsed > 0.5 ? (s.done - this.baseline) / elapsed : 0;
    const remaining = s.total - s.done;
    const eta = remaining === 0 ? 0 : (s.etaSeconds ?? (rate > 0 ? remaining / rate : null));
    const parts = [
      `${s.done}/${s.total}`,
      percent(s.done, s.total),
      `${rate.toFixed(rate >= 10 ? 0 : 1)}/s`,
      `ETA ${eta === null ? '?' : formatDuration(eta)}`,
      ...(s.failed > 0 ? [`${s.failed} failed`] : []),
      ...(s.activity ? [s.activity] : []),
    ];
    return parts.join(' · ');
  }

  private render(final: boolean): void {
    const s = this.snapshot();
    const text = this.line(s);
    if (this.tty) {
      const width = Math.max(10, Math.min(30, (this.stream.columns ?? 80) - text.length - 4));
      const filled = s.total === 0 ? width : Math.round((s.done / s.total) * width);
      this.stream.write(`\r\x1b[K[${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${text}`);
      return;
    }
    const now = Date.now();
    const interval = this.opts.plainIntervalMs ?? 5000;
    if (final || (text !== this.lastPlain && now - this.lastPlainAt >= interval)) {
      this.stream.write(`${this.opts.label ?? 'progress'}: ${text}\n`);
      this.lastPlain = text;
      this.lastPlainAt = now;
    }
  }
}
