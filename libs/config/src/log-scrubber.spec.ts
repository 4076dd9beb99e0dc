import { registerLogSecrets, scrubSecrets } from './log-scrubber.js';

describe('scrubSecrets (every log line passes through it)', () => {
  it('removes secret-shaped strings', () => {
    const line = JSON.stringify({
      url: 'http://s3/b/k.png?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F20260101%2Fus-east-1&X-Amz-Signature=0123abcd&x-id=GetObject',
      secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      key: 'mf_live_abcdefghijkl_Q2hhbmdlLW1lLXRoaXMtaXMtYS1zZWNyZXQtdmFsdWUtMQ',
      auth: 'Bearer sk-live-123',
      path: '/webhooks/modelslab/42/tok_abc-DEF',
    });
    const out = scrubSecrets(line);
    for (const s of ['AKIA', '0123abcd', 'MfKQ9r8', 'Q2hhbmdl', 'sk-live-123', 'tok_abc']) expect(out).not.toContain(s);
    expect(out).toContain('X-Amz-Algorithm=AWS4-HMAC-SHA256');
    expect(out).toContain('mf_live_abcdefghijkl_[redacted]');
    expect(out).toContain('/webhooks/modelslab/42/[redacted]');
  });

  it('removes registered values, also JSON-escaped, and ignores short ones', () => {
    registerLogSecrets(['provider"key\\value-1', 'short', undefined]);
    const out = scrubSecrets(JSON.stringify({ message: 'Invalid key provider"key\\value-1 given', note: 'short' }));
    expect(out).not.toContain('value-1');
    expect(out).toContain('[redacted]');
    expect(out).toContain('short');
  });
});
