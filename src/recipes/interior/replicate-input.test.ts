import { describe, expect, it } from 'vitest';
import { modelTarget } from '../../providers/replicate/client.ts';
import { ASPECT_RATIOS, QUALITIES } from './catalog.ts';
import {
  dimensionsFor,
  PROMPT_STRENGTH,
  QUALITY_TIERS,
  toReplicateInput,
  WEBHOOK_PATH,
  webhookUrlFor,
} from './replicate-input.ts';

/** The documented table (docs/interior.md): every aspect ratio at every quality tier. */
const EXPECTED: Record<string, Record<string, [number, number]>> = {
  '1:1': { draft: [512, 512], standard: [1024, 1024], high: [1536, 1536] },
  '4:3': { draft: [512, 384], standard: [1024, 768], high: [1536, 1152] },
  '3:4': { draft: [384, 512], standard: [768, 1024], high: [1152, 1536] },
  '3:2': { draft: [512, 336], standard: [1024, 688], high: [1536, 1024] },
  '2:3': { draft: [336, 512], standard: [688, 1024], high: [1024, 1536] },
  '16:9': { draft: [512, 288], standard: [1024, 576], high: [1536, 864] },
  '9:16': { draft: [288, 512], standard: [576, 1024], high: [864, 1536] },
};

const base = {
  prompt: 'a calm bedroom',
  negativePrompt: 'people',
  aspectRatio: '1:1' as const,
  quality: 'standard' as const,
  variants: 1,
  imageUrls: [] as string[],
};

describe('replicate adapter: parameter mapping', () => {
  for (const aspectRatio of ASPECT_RATIOS) {
    for (const quality of QUALITIES) {
      it(`${aspectRatio} at ${quality} → ${EXPECTED[aspectRatio]![quality]!.join('x')}`, () => {
        const [width, height] = EXPECTED[aspectRatio]![quality]!;
        expect(dimensionsFor(aspectRatio, quality)).toEqual({ width, height });
        const input = toReplicateInput({ ...base, mode: 'imagine', aspectRatio, quality });
        expect(input).toMatchObject({
          aspect_ratio: aspectRatio,
          width,
          height,
          megapixels: QUALITY_TIERS[quality].megapixels,
          output_quality: QUALITY_TIERS[quality].outputQuality,
        });
        // Sides are multiples of 16 and keep the orientation of the ratio.
        expect(width % 16).toBe(0);
        expect(height % 16).toBe(0);
        const [w, h] = aspectRatio.split(':').map(Number) as [number, number];
        expect(Math.sign(width - height)).toBe(Math.sign(w - h));
        expect(Math.abs(width / height - w / h)).toBeLessThan(0.05);
      });
    }
  }

  it('quality tiers grow in resolution: draft < standard < high', () => {
    const areas = QUALITIES.map((quality) => {
      const { width, height } = dimensionsFor('4:3', quality);
      return width * height;
    });
    expect(areas).toEqual([...areas].sort((a, b) => a - b));
    expect(new Set(areas).size).toBe(3);
  });

  for (const variants of [1, 2, 3, 4]) {
    it(`${variants} variant(s) → num_outputs ${variants}`, () => {
      expect(toReplicateInput({ ...base, mode: 'imagine', variants }).num_outputs).toBe(variants);
    });
  }

  it('imagine sends no image; redesign and staging send the photo with their prompt strength', () => {
    const imagine = toReplicateInput({ ...base, mode: 'imagine' });
    expect(imagine).not.toHaveProperty('image');
    expect(imagine).not.toHaveProperty('prompt_strength');
    for (const mode of ['redesign', 'staging'] as const) {
      const input = toReplicateInput({ ...base, mode, imageUrls: ['https://a/1.jpg'] });
      expect(input).toMatchObject({
        image: 'https://a/1.jpg',
        prompt_strength: PROMPT_STRENGTH[mode],
      });
      expect(input).not.toHaveProperty('image_input');
    }
  });

  it('compose sends the room as image and every photo as image_input', () => {
    const urls = ['https://a/room.jpg', 'https://a/chair.jpg', 'https://a/lamp.jpg'];
    const input = toReplicateInput({ ...base, mode: 'compose', imageUrls: urls });
    expect(input).toMatchObject({
      image: urls[0],
      image_input: urls,
      prompt_strength: PROMPT_STRENGTH.compose,
    });
  });

  it('passes the prompt, the negative prompt and asks for PNG', () => {
    expect(toReplicateInput({ ...base, mode: 'imagine' })).toMatchObject({
      prompt: 'a calm bedroom',
      negative_prompt: 'people',
      output_format: 'png',
    });
    expect(toReplicateInput({ ...base, mode: 'imagine', negativePrompt: '' })).not.toHaveProperty(
      'negative_prompt',
    );
  });

  it('addresses a model by name, or pins a version', () => {
    expect(modelTarget('black-forest-labs/flux-dev')).toEqual({
      model: 'black-forest-labs/flux-dev',
    });
    expect(modelTarget('stability-ai/sdxl:7762fd07')).toEqual({
      version: 'stability-ai/sdxl:7762fd07',
    });
  });

  it('builds the webhook URL from the setting, else the public URL, else the request origin', () => {
    const origin = 'http://127.0.0.1:8787';
    expect(
      webhookUrlFor({
        configured: 'https://hooks.example.com/r',
        publicBaseUrl: 'https://x',
        requestOrigin: origin,
      }),
    ).toBe('https://hooks.example.com/r');
    expect(
      webhookUrlFor({ publicBaseUrl: 'https://genloop.example.com/', requestOrigin: origin }),
    ).toBe(`https://genloop.example.com${WEBHOOK_PATH}`);
    expect(webhookUrlFor({ requestOrigin: origin })).toBe(`${origin}${WEBHOOK_PATH}`);
  });
});
