/**
 * The removebg_mask request body, as ModelsLab documents it. Booleans and integers are also accepted as the
 * strings clients commonly send ("true", "1", "240"); unknown fields are ignored like the provider does.
 */
import { z } from 'zod';
import type { CutoutOptions } from '../cutout/cutout-options.js';

const flag = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no', '']), z.literal(0), z.literal(1), z.null()])
  .optional()
  .transform((v) => v === true || v === 'true' || v === '1' || v === 'yes' || v === 1);

const intIn = (min: number, max: number, fallback: number) =>
  z
    .union([z.number(), z.string().regex(/^-?\d+$/), z.null()])
    .optional()
    .transform((v) => (v === null || v === undefined || v === '' ? fallback : Number(v)))
    .pipe(z.number().int().min(min).max(max));

export const removeBgRequestSchema = z.object({
  key: z.string().optional(),
  image: z.string({ error: 'image is required: an http(s) URL or base64 image data' }).min(1, 'image is required'),
  seed: z
    .union([z.number().int(), z.string().regex(/^-?\d+$/), z.null()])
    .optional()
    .transform((v) => (v === null || v === undefined ? null : Number(v))),
  post_process_mask: flag,
  only_mask: flag,
  inverse_mask: flag,
  alpha_matting: flag,
  alpha_matting_foreground_threshold: intIn(0, 240, 240),
  alpha_matting_background_threshold: intIn(0, 20, 20),
  alpha_matting_erode_size: intIn(0, 5, 5),
  base64: flag,
  webhook: z
    .union([z.url({ protocol: /^https?$/, error: 'webhook must be an http(s) URL' }), z.literal(''), z.null()])
    .optional()
    .transform((v) => v || null),
  track_id: z
    .union([z.number().int(), z.string().regex(/^-?\d+$/), z.null()])
    .optional()
    .transform((v) => (v === null || v === undefined ? null : Number(v))),
});

export type RemoveBgRequest = z.infer<typeof removeBgRequestSchema>;

export function cutoutOptionsOf(r: RemoveBgRequest): CutoutOptions {
  return {
    onlyMask: r.only_mask,
    inverseMask: r.inverse_mask,
    postProcessMask: r.post_process_mask,
    alphaMatting: r.alpha_matting,
    alphaMattingForegroundThreshold: r.alpha_matting_foreground_threshold,
    alphaMattingBackgroundThreshold: r.alpha_matting_background_threshold,
    alphaMattingErodeSize: r.alpha_matting_erode_size,
  };
}

export const fetchRequestSchema = z.object({ key: z.string().optional() });
