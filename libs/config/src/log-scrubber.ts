/**
 * The last line of defence against secrets in logs: every serialized log line passes through scrubSecrets()
 * before it is written. Generated secrets are recognised by their shape (managed API keys, whsec_ signing
 * secrets, presigned URL signatures and credentials, Bearer tokens, provider webhook tokens in our URLs);
 * configured ones (MODELSLAB_API_KEY, API_KEYS, ADMIN_API_KEY, S3 and database passwords) by their value,
 * registered by loadConfig(). Call sites still avoid logging secrets; this catches what slips through.
 */
const PATTERNS: [RegExp, string][] = [
  [/(X-Amz-(?:Signature|Credential|Security-Token)=)[^&"\s\\]+/gi, '$1[redacted]'],
  [/\bwhsec_[A-Za-z0-9+/=]+/g, 'whsec_[redacted]'],
  [/\b(mf_live_[a-z2-7]{12}_)[A-Za-z0-9_-]+/g, '$1[redacted]'],
  [/\b(Bearer\s+)[^\s"\\]+/gi, '$1[redacted]'],
  [/(\/webhooks\/modelslab\/\d+\/)[^/\s"?\\]+/g, '$1[redacted]'],
];

let exact: RegExp | undefined;
const registered = new Set<string>();

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Values that must never be written to a log (short values are ignored: they would scrub ordinary words). */
export function registerLogSecrets(values: readonly (string | undefined | null)[]): void {
  for (const v of values) if (v && v.length >= 8) registered.add(v);
  // Longest first, so a secret containing another is scrubbed whole. JSON-escaped forms are covered too.
  const forms = [...registered].flatMap((v) => [v, JSON.stringify(v).slice(1, -1)]);
  exact = forms.length > 0 ? new RegExp([...new Set(forms)].sort((a, b) => b.length - a.length).map(escape).join('|'), 'g') : undefined;
}

export function scrubSecrets(line: string): string {
  let out = line;
  for (const [re, replacement] of PATTERNS) out = out.replace(re, replacement);
  if (exact) out = out.replace(exact, '[redacted]');
  return out;
}
