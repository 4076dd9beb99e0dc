/**
 * Downloads one output (a presigned S3 URL) into --out: streamed to `<file>.part` while hashing, the
 * sha256 compared with what the API recorded, then renamed into place. A file already there with the
 * expected sha256 is not downloaded again.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InterruptedError } from '../client/api-errors.js';

/** The downloaded bytes did not match the API's sha256 (or the download failed): an item failure. */
export class OutputDownloadError extends Error {
  constructor(
    readonly code: 'checksum_mismatch' | 'output_download_failed',
    message: string,
  ) {
    super(message);
    this.name = 'OutputDownloadError';
  }
}

export async function sha256OfFile(file: string): Promise<string | null> {
  try {
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
    return hash.digest('hex');
  } catch {
    return null;
  }
}

/** True when `file` exists with this sha256 (checked by size first). */
export async function alreadyDownloaded(file: string, sha256: string, bytes?: number): Promise<boolean> {
  const info = await stat(file).catch(() => null);
  if (!info?.isFile() || (bytes !== undefined && info.size !== bytes)) return false;
  return (await sha256OfFile(file)) === sha256;
}

export async function downloadOutput(url: string, file: string, expectedSha256: string, signal: AbortSignal): Promise<{ bytes: number }> {
  await mkdir(path.dirname(file), { recursive: true });
  const part = `${file}.part`;
  let res: Response;
  try {
    res = await fetch(url, { signal });
  } catch (err) {
    if (signal.aborted) throw new InterruptedError();
    throw new OutputDownloadError('output_download_failed', `download failed: ${(err as Error).message}`);
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel().catch(() => undefined);
    throw new OutputDownloadError('output_download_failed', `download answered ${res.status}`);
  }
  const hash = createHash('sha256');
  let bytes = 0;
  const hasher = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  try {
    await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>), hasher, createWriteStream(part), { signal });
  } catch (err) {
    await rm(part, { force: true });
    if (signal.aborted) throw new InterruptedError();
    throw new OutputDownloadError('output_download_failed', `download failed: ${(err as Error).message}`);
  }
  const actual = hash.digest('hex');
  if (actual !== expectedSha256) {
    await rm(part, { force: true });
    throw new OutputDownloadError('checksum_mismatch', `sha256 of the download is ${actual}, the API recorded ${expectedSha256}`);
  }
  await rename(part, file);
  return { bytes };
}
