/**
 * The ModelsLab-compatible facade's request and answers, in the provider's own shapes (see
 * /work/shared/reference: `removebg_mask`, `fetch/{id}`, webhooks), so code written for ModelsLab switches
 * to maskflow by changing the base URL. The facade answers errors as ModelsLab does: `{status:'error', message}`.
 */
import { z } from 'zod';
import { checkHttpUrl, removebgOptionsSchema, type RemovebgOptions } from './job-request.schema.js';

export const FACADE_PATH_PREFIX = '/api/v6/';
export const FACADE_SUBMIT_PATH = '/api/v6/image_editing/removebg_mask';
export const FACADE_FETCH_PATH = '/api/v6/image_editing/fetch';

const flag = z.union([z.boolean(), z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1')]);
const integer = z.union([z.int(), z.string().regex(/^\d+$/).transform(Number)]);

/** The documented body; unknown fields are ignored (the provider ignores them too), nulls mean "not given". */
export const facadeSubmitSchema = z.object({
  key: z.string().min(1),
  image: z.string().min(1),
  seed: integer.nullish(),
  post_process_mask: flag.nullish(),
  only_mask: flag.nullish(),
  inverse_mask: flag.nullish(),
  alpha_matting: flag.nullish(),
  alpha_matting_foreground_threshold: integer.nullish(),
  alpha_matting_background_threshold: integer.nullish(),
  alpha_matting_erode_size: integer.nullish(),
  base64: flag.nullish(),
  webhook: z.string().nullish(),
  track_id: z.union([z.int(), z.string().max(200)]).nullish(),
});

export interface FacadeSubmit {
  image: { kind: 'url'; url: string } | { kind: 'base64'; data: string };
  options: RemovebgOptions;
  base64: boolean;
  webhook: string | null;
  trackId: number | string | null;
}

/** Validates a removebg_mask body (after the key was checked); the message reads like the provider's. */
export function parseFacadeSubmit(body: Record<string, unknown>): { ok: true; value: FacadeSubmit } | { ok: false; message: string } {
  const parsed = facadeSubmitSchema.safeParse(body);
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    return { ok: false, message: `The ${i.path.join('.') || 'request'} field is invalid: ${i.message}` };
  }
  const b = parsed.data;
  const options = Object.fromEntries(
    (['only_mask', 'inverse_mask', 'post_process_mask', 'alpha_matting', 'alpha_matting_foreground_threshold', 'alpha_matting_background_threshold', 'alpha_matting_erode_size', 'seed'] as const)
      .filter((k) => b[k] !== null && b[k] !== undefined)
      .map((k) => [k, b[k]]),
  );
  const checked = removebgOptionsSchema.safeParse(options);
  if (!checked.success) {
    const i = checked.error.issues[0]!;
    return { ok: false, message: `The ${i.path.join('.')} field is invalid: ${i.message}` };
  }
  if (b.webhook) {
    const bad = checkHttpUrl('webhook', b.webhook);
    if (bad) return { ok: false, message: `The webhook field is invalid: ${bad.message}` };
  }
  const isUrl = /^https?:\/\//i.test(b.image);
  if (isUrl) {
    const bad = checkHttpUrl('image', b.image);
    if (bad) return { ok: false, message: `The image field is invalid: ${bad.message}` };
  }
  return {
    ok: true,
    value: {
      image: isUrl ? { kind: 'url', url: b.image } : { kind: 'base64', data: b.image },
      options: checked.data,
      base64: b.base64 ?? false,
      webhook: b.webhook ?? null,
      trackId: b.track_id ?? null,
    },
  };
}

export type FacadeAnswer = Record<string, unknown>;

export const facadeError = (message: string, extra: Record<string, unknown> = {}): FacadeAnswer => ({ status: 'error', ...extra, message });

export function facadeProcessing(a: { id: number; eta: number; fetchResult: string; meta: Record<string, unknown> }): FacadeAnswer {
  return {
    status: 'processing',
    tip: 'Your image is processing in background, you can get this image using fetch API.',
    eta: a.eta,
    message: 'Try to fetch request after seconds estimated',
    fetch_result: a.fetchResult,
    id: a.id,
    output: [],
    future_links: [],
    proxy_links: [],
    meta: a.meta,
  };
}

export function facadeSuccess(a: { id: number; output: string[]; proxyLinks: string[]; generationTime: number; meta: Record<string, unknown> }): FacadeAnswer {
  return { status: 'success', generationTime: a.generationTime, id: a.id, output: a.output, proxy_links: a.proxyLinks, meta: a.meta };
}

export function facadeFailed(a: { id: number; message: string; trackId: unknown }): FacadeAnswer {
  return { status: 'failed', id: a.id, message: a.message, track_id: a.trackId ?? null };
}

/** The webhook the provider would send: success with outputs, or failed with a message; both carry track_id. */
export function facadeWebhookPayload(a: { id: number; state: 'succeeded' | 'failed' | 'canceled'; output: string[]; generationTime: number; message: string | null; trackId: unknown; meta: Record<string, unknown> }): FacadeAnswer {
  if (a.state === 'succeeded') return { status: 'success', id: a.id, output: a.output, generationTime: a.generationTime, track_id: a.trackId ?? null, meta: a.meta };
  return facadeFailed({ id: a.id, message: a.message ?? (a.state === 'canceled' ? 'the request was canceled' : 'the request failed'), trackId: a.trackId });
}
