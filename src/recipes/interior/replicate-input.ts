import type { AspectRatio, Mode, Quality } from './catalog.ts';

/** A generation as the adapter sees it: validated choices plus the built prompt and image links. */
export interface ImageGenerationRequest {
  mode: Mode;
  prompt: string;
  negativePrompt?: string | undefined;
  aspectRatio: AspectRatio;
  quality: Quality;
  variants: number;
  /** Signed links of the input photos, the room first (none for imagine). */
  imageUrls: readonly string[];
  seed?: number | undefined;
}

/**
 * Quality → resolution tier. `longSide` sets width/height (models that take dimensions);
 * `megapixels` is the closest value flux models accept; `outputQuality` is their encoder quality.
 */
export const QUALITY_TIERS: Readonly<
  Record<Quality, { longSide: number; megapixels: '0.25' | '1'; outputQuality: number }>
> = {
  draft: { longSide: 512, megapixels: '0.25', outputQuality: 80 },
  standard: { longSide: 1024, megapixels: '1', outputQuality: 90 },
  high: { longSide: 1536, megapixels: '1', outputQuality: 100 },
};

/**
 * How much of the input photo an image-to-image model may repaint (flux-dev, SDXL:
 * `prompt_strength`, 1 = ignore the photo). Staging keeps most of the room; redesign and
 * compose repaint more of it.
 */
export const PROMPT_STRENGTH: Readonly<Record<Exclude<Mode, 'imagine'>, number>> = {
  redesign: 0.75,
  staging: 0.6,
  compose: 0.8,
};

/** Sides are multiples of 16, which every diffusion model accepts. */
const STEP = 16;

/**
 * Width and height for an aspect ratio at a quality tier: the longer side is the tier's
 * `longSide`, the other follows the ratio, both rounded to a multiple of 16.
 *
 * @example
 * dimensionsFor('16:9', 'standard') // { width: 1024, height: 576 }
 */
export function dimensionsFor(
  aspectRatio: AspectRatio,
  quality: Quality,
): { width: number; height: number } {
  const [w, h] = aspectRatio.split(':').map(Number) as [number, number];
  const { longSide } = QUALITY_TIERS[quality];
  const round = (value: number) => Math.max(STEP, Math.round(value / STEP) * STEP);
  return w >= h
    ? { width: longSide, height: round((longSide * h) / w) }
    : { width: round((longSide * w) / h), height: longSide };
}

/**
 * The `input` of a Replicate prediction. One object serves both input conventions of image
 * models on Replicate, since a model ignores inputs it does not declare: `aspect_ratio` +
 * `megapixels` (flux) and `width` + `height` (SDXL and most others); `num_outputs` is the
 * variant count; the first photo is `image` with `prompt_strength` (image-to-image), and
 * compose also sends every photo as `image_input` for multi-image models. PNG is asked for so
 * the only lossy step is genloop's own WebP conversion.
 */
export function toReplicateInput(request: ImageGenerationRequest): Record<string, unknown> {
  const tier = QUALITY_TIERS[request.quality];
  const { width, height } = dimensionsFor(request.aspectRatio, request.quality);
  const input: Record<string, unknown> = {
    prompt: request.prompt,
    aspect_ratio: request.aspectRatio,
    width,
    height,
    megapixels: tier.megapixels,
    num_outputs: request.variants,
    output_format: 'png',
    output_quality: tier.outputQuality,
  };
  if (request.negativePrompt) input.negative_prompt = request.negativePrompt;
  if (request.seed !== undefined) input.seed = request.seed;
  if (request.mode !== 'imagine' && request.imageUrls.length > 0) {
    input.image = request.imageUrls[0];
    input.prompt_strength = PROMPT_STRENGTH[request.mode];
  }
  if (request.mode === 'compose') input.image_input = [...request.imageUrls];
  return input;
}

export const WEBHOOK_PATH = '/api/v1/webhooks/replicate';

/**
 * Where Replicate should post the prediction's webhook: the configured URL, else the public
 * base URL, else the origin the submitting request came in on (development).
 */
export function webhookUrlFor(options: {
  configured?: string | undefined;
  publicBaseUrl?: string | undefined;
  requestOrigin: string;
}): string {
  if (options.configured) return options.configured;
  const base = (options.publicBaseUrl ?? options.requestOrigin).replace(/\/+$/, '');
  return `${base}${WEBHOOK_PATH}`;
}
