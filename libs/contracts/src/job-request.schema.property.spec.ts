/**
 * Property-based checks of the POST /v1/jobs validation (fast-check): random valid requests are accepted
 * as given; a valid request with one field broken is rejected with a code that names that field; and no
 * input whatever makes the validator throw.
 */
import fc from 'fast-check';
import { ApiErrorCode } from './error-codes.js';
import { parseCreateJob } from './job-request.schema.js';

const LIMITS = { maxImageBytes: 1024 };
const CODES = new Set<string>(Object.values(ApiErrorCode));

const options = fc.record(
  {
    only_mask: fc.boolean(),
    inverse_mask: fc.boolean(),
    post_process_mask: fc.boolean(),
    alpha_matting: fc.boolean(),
    alpha_matting_foreground_threshold: fc.integer({ min: 0, max: 240 }),
    alpha_matting_background_threshold: fc.integer({ min: 0, max: 20 }),
    alpha_matting_erode_size: fc.integer({ min: 0, max: 5 }),
    seed: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
  },
  { requiredKeys: [] },
);
const url = fc.webUrl({ withQueryParameters: true, withFragments: true });
const image = fc.oneof(
  url.map((u) => ({ image_url: u })),
  fc.uint8Array({ minLength: 1, maxLength: LIMITS.maxImageBytes }).map((b) => ({ image_base64: Buffer.from(b).toString('base64') })),
);
const validRequest = fc
  .tuple(
    image,
    fc.record(
      {
        options,
        track_id: fc.string({ minLength: 1, maxLength: 200 }),
        callback_url: url,
        metadata: fc.dictionary(fc.string({ maxLength: 20 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 5 }),
      },
      { requiredKeys: [] },
    ),
  )
  .map(([img, rest]) => ({ ...img, ...rest }) as Record<string, unknown>);

/** One way to break a valid request, and the field the answer must name. */
const OPTION_RANGES = { alpha_matting_foreground_threshold: 240, alpha_matting_background_threshold: 20, alpha_matting_erode_size: 5 } as const;
type Req = Record<string, unknown>;
type Breakage = { apply: (r: Req) => Req; field: string; codes: string[] };
const breakage: fc.Arbitrary<Breakage> = fc.oneof<fc.Arbitrary<Breakage>[]>(
  fc.tuple(fc.constantFrom(...(Object.keys(OPTION_RANGES) as (keyof typeof OPTION_RANGES)[])), fc.oneof(fc.integer({ min: -1000, max: -1 }), fc.integer({ min: 241, max: 100_000 }))).map(([key, v]) => ({
    apply: (r: Req) => ({ ...r, options: { ...(r.options as object), [key]: v > 0 ? Math.max(v, OPTION_RANGES[key] + 1) : v } }),
    field: `options.${key}`,
    codes: [ApiErrorCode.OptionOutOfRange],
  })),
  fc.string({ minLength: 1, maxLength: 12 }).filter((k) => /^[a-z_]+$/.test(k) && !['only_mask', 'inverse_mask', 'post_process_mask', 'alpha_matting', 'seed', 'alpha_matting_foreground_threshold', 'alpha_matting_background_threshold', 'alpha_matting_erode_size'].includes(k)).map((k) => ({
    apply: (r: Req) => ({ ...r, options: { ...(r.options as object), [k]: 1 } }),
    field: `options.${k}`,
    codes: [ApiErrorCode.UnknownOption],
  })),
  fc.constantFrom('priority', 'image', 'webhook', 'key').map((k) => ({ apply: (r: Req) => ({ ...r, [k]: 'x' }), field: k, codes: [ApiErrorCode.UnknownField] as string[] })),
  fc.constantFrom('ftp', 'file', 'javascript', 'gopher', 'data').map((scheme) => ({
    apply: (r: Req) => ({ ...r, callback_url: `${scheme}://example.com/x` }),
    field: 'callback_url',
    codes: [ApiErrorCode.UnsupportedUrlScheme, ApiErrorCode.InvalidUrl],
  })),
  fc.constantFrom('not a url', 'http://', '://x', 'http://user:pw@example.com/').map((u) => ({
    apply: (r: Req) => ({ ...Object.fromEntries(Object.entries(r).filter(([k]) => k !== 'image_base64')), image_url: u }),
    field: 'image_url',
    codes: [ApiErrorCode.InvalidUrl],
  })),
  fc.constantFrom(1, true, null, [], {}).map((v) => ({ apply: (r: Req) => ({ ...r, track_id: v }), field: 'track_id', codes: [ApiErrorCode.InvalidType] as string[] })),
  fc.constant({ apply: (r: Req) => ({ ...r, track_id: 'x'.repeat(201) }), field: 'track_id', codes: [ApiErrorCode.ValidationFailed] as string[] }),
  fc.constant({ apply: (r: Req) => ({ ...r, image_base64: Buffer.alloc(LIMITS.maxImageBytes + 1).toString('base64'), image_url: undefined }), field: 'image_base64', codes: [ApiErrorCode.ImageTooLarge] as string[] }),
  fc.constant({ apply: (r: Req) => ({ ...r, image_base64: '!!not base64!!', image_url: undefined }), field: 'image_base64', codes: [ApiErrorCode.InvalidBase64] as string[] }),
  fc.constant({ apply: (r: Req) => ({ ...r, image_url: 'https://example.com/a.png', image_base64: 'aGVsbG8=' }), field: 'image_url', codes: [ApiErrorCode.ImageAmbiguous] as string[] }),
  fc.constant({ apply: (r: Req) => Object.fromEntries(Object.entries(r).filter(([k]) => k !== 'image_url' && k !== 'image_base64')), field: 'image_url', codes: [ApiErrorCode.ImageMissing] as string[] }),
  fc.constantFrom('yes', 1, null).map((v) => ({ apply: (r: Req) => ({ ...r, options: { ...(r.options as object), only_mask: v } }), field: 'options.only_mask', codes: [ApiErrorCode.InvalidType] as string[] })),
);

const strip = (r: Record<string, unknown>) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined));

describe('parseCreateJob (property-based)', () => {
  it('accepts every valid request, keeping what it was given', () => {
    fc.assert(
      fc.property(validRequest, (req) => {
        const res = parseCreateJob(req, LIMITS);
        if (!res.ok) throw new Error(`rejected a valid request: ${JSON.stringify(res.issues)}`);
        expect(res.value.options).toEqual(req.options ?? {});
        expect(res.value.trackId).toBe(req.track_id);
        expect(res.value.callbackUrl).toBe(req.callback_url);
        if ('image_url' in req) expect(res.value.image).toEqual({ kind: 'url', url: req.image_url });
        else expect(res.value.image.kind).toBe('bytes');
      }),
      { numRuns: 300 },
    );
  });

  it('rejects a valid request with one field broken, with a code naming that field', () => {
    fc.assert(
      fc.property(validRequest, breakage, (req, b) => {
        const res = parseCreateJob(strip(b.apply(req)), LIMITS);
        expect(res.ok).toBe(false);
        if (res.ok) return;
        const named = res.issues.find((i) => i.field === b.field);
        if (!named) throw new Error(`no issue names ${b.field}: ${JSON.stringify(res.issues)}`);
        expect(b.codes).toContain(named.code);
        for (const i of res.issues) expect(CODES.has(i.code)).toBe(true);
      }),
      { numRuns: 400 },
    );
  });

  it('never throws, whatever the body; every answer is ok or issues with known codes and a field', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.jsonValue(), fc.dictionary(fc.constantFrom('image_url', 'image_base64', 'options', 'track_id', 'callback_url', 'metadata', 'x'), fc.anything())), (body) => {
        const res = parseCreateJob(body, LIMITS);
        if (!res.ok) {
          expect(res.issues.length).toBeGreaterThan(0);
          for (const i of res.issues) {
            expect(CODES.has(i.code)).toBe(true);
            expect(typeof i.field).toBe('string');
            expect(i.field.length).toBeGreaterThan(0);
            expect(typeof i.message).toBe('string');
          }
        }
      }),
      { numRuns: 500 },
    );
  });
});
