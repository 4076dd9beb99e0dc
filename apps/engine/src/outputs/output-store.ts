/**
 * Where finished PNGs live until clients copy them: in memory or on disk, kept for a TTL and bounded in total
 * bytes (the oldest go first when over the bound). Served at GET /outputs/{id}/{n}.png.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface OutputStoreSettings {
  kind: 'memory' | 'disk';
  dir: string;
  ttlMs: number;
  maxBytes: number;
}

interface Entry {
  expiresAt: number;
  bytes: number;
  files: Buffer[] | undefined; // memory store only
  count: number;
}

export class OutputStore {
  private readonly entries = new Map<string, Entry>();
  private totalBytes = 0;
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly s: OutputStoreSettings) {
    this.sweeper = setInterval(() => void this.sweep(), Math.min(60_000, Math.max(1000, s.ttlMs / 10)));
    this.sweeper.unref();
  }

  async init(): Promise<void> {
    if (this.s.kind === 'disk') {
      await rm(this.s.dir, { recursive: true, force: true });
      await mkdir(this.s.dir, { recursive: true });
    }
  }

  async put(id: string, files: Buffer[]): Promise<void> {
    const bytes = files.reduce((n, f) => n + f.length, 0);
    if (this.s.kind === 'disk') {
      const dir = path.join(this.s.dir, id);
      await mkdir(dir, { recursive: true });
      await Promise.all(files.map((f, n) => writeFile(path.join(dir, `${n}.png`), f)));
    }
    this.entries.set(id, {
      expiresAt: Date.now() + this.s.ttlMs,
      bytes,
      files: this.s.kind === 'memory' ? files : undefined,
      count: files.length,
    });
    this.totalBytes += bytes;
    for (const [oldId] of this.entries) {
      if (this.totalBytes <= this.s.maxBytes || oldId === id) break;
      await this.remove(oldId);
    }
  }

  async get(id: string, n: number): Promise<Buffer | undefined> {
    const e = this.entries.get(id);
    if (!e || e.expiresAt <= Date.now() || !Number.isInteger(n) || n < 0 || n >= e.count) return undefined;
    if (e.files) return e.files[n];
    return readFile(path.join(this.s.dir, id, `${n}.png`)).catch(() => undefined);
  }

  get storedBytes(): number {
    return this.totalBytes;
  }

  private async remove(id: string): Promise<void> {
    const e = this.entries.get(id);
    if (!e) return;
    this.entries.delete(id);
    this.totalBytes -= e.bytes;
    if (this.s.kind === 'disk') await rm(path.join(this.s.dir, id), { recursive: true, force: true });
  }

  private async sweep(): Promise<void> {
    const now = Date.now();
    for (const [id, e] of this.entries) if (e.expiresAt <= now) await this.remove(id);
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
  }
}
