/**
 * Where each input's cut-out goes in --out: `<name>.png`, named for the input (a file's own name, a row's
 * external_id or its URL's last path segment), made safe for a file system and de-duplicated in input
 * order (`a.png`, `a-2.png`, ...), so the same input always gets the same name on a re-run.
 */
import path from 'node:path';

const UNSAFE = /[^\p{L}\p{N}._ -]+/gu;

/** A file-system-safe base name (no directories, no leading dots, at most 120 characters). */
export function safeBaseName(raw: string): string {
  const cleaned = raw.replace(UNSAFE, '_').replace(/^[.\s]+/, '').trim().slice(0, 120);
  return cleaned === '' ? 'image' : cleaned;
}

/** `name` of a URL row: its external_id, else the URL's last path segment without its extension. */
export function nameForUrlRow(externalId: string | null, imageUrl: string): string {
  if (externalId) return safeBaseName(externalId);
  let last = '';
  try {
    last = decodeURIComponent(new URL(imageUrl).pathname.split('/').filter(Boolean).pop() ?? '');
  } catch {
    last = '';
  }
  return safeBaseName(last.replace(/\.[A-Za-z0-9]{1,5}$/, '') || 'image');
}

/** `sub/dir/photo.jpg` -> `sub/dir/photo` (directories kept, each segment made safe). */
export function nameForFile(relativePath: string): string {
  const parts = relativePath.split(/[\\/]+/);
  const file = parts.pop()!;
  return [...parts.map(safeBaseName), safeBaseName(path.parse(file).name)].join('/');
}

/** Hands out unique names (case-insensitively, for case-insensitive file systems) in call order. */
export class NameAllocator {
  private readonly taken = new Set<string>();

  allocate(name: string): string {
    let candidate = name;
    for (let n = 2; this.taken.has(candidate.toLowerCase()); n++) candidate = `${name}-${n}`;
    this.taken.add(candidate.toLowerCase());
    return candidate;
  }
}

/** The output files of one item: `<name>.png`, then `<name>.2.png`, ... when a job has several outputs. */
export function outputFileName(name: string, index: number, contentType: string): string {
  const ext = contentType === 'image/jpeg' ? 'jpg' : contentType === 'image/webp' ? 'webp' : 'png';
  return index === 0 ? `${name}.${ext}` : `${name}.${index + 1}.${ext}`;
}
