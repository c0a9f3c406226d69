import sharp from 'sharp';
import { seededRandom } from '../seeded.ts';
import type { ImageFormat } from './inputs.ts';

export const CONTENT_TYPES: Record<ImageFormat, string> = {
  png: 'image/png',
  webp: 'image/webp',
  jpg: 'image/jpeg',
};

/**
 * A real image for a simulated prediction: a diagonal gradient between two colours with a few
 * colour blocks on top, all chosen by `seed`, so the same input always gives the same picture.
 */
export async function renderImage(options: {
  width: number;
  height: number;
  format: ImageFormat;
  seed: string;
}): Promise<Buffer> {
  const { width, height } = options;
  const random = seededRandom(options.seed);
  const colour = () => [0, 0, 0].map(() => Math.floor(random() * 256)) as [number, number, number];
  const from = colour();
  const to = colour();
  const pixels = Buffer.alloc(width * height * 3);
  const span = width + height - 2 || 1;
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      const t = (x + y) / span;
      const offset = (y * width + x) * 3;
      pixels[offset] = from[0] + (to[0] - from[0]) * t;
      pixels[offset + 1] = from[1] + (to[1] - from[1]) * t;
      pixels[offset + 2] = from[2] + (to[2] - from[2]) * t;
    }
  }
  const blocks = 3 + Math.floor(random() * 4);
  for (let block = 0; block < blocks; block += 1) {
    const [r, g, b] = colour();
    const blockWidth = Math.max(1, Math.floor(width * (0.1 + random() * 0.3)));
    const blockHeight = Math.max(1, Math.floor(height * (0.1 + random() * 0.3)));
    const left = Math.floor(random() * (width - blockWidth + 1));
    const top = Math.floor(random() * (height - blockHeight + 1));
    for (let y = top; y < top + blockHeight; y += 1) {
      for (let x = left; x < left + blockWidth; x += 1) {
        const offset = (y * width + x) * 3;
        pixels[offset] = r;
        pixels[offset + 1] = g;
        pixels[offset + 2] = b;
      }
    }
  }
  const image = sharp(pixels, { raw: { width, height, channels: 3 } });
  switch (options.format) {
    case 'webp':
      return image.webp({ quality: 80, effort: 0 }).toBuffer();
    case 'jpg':
      return image.jpeg({ quality: 85 }).toBuffer();
    case 'png':
      return image.png({ compressionLevel: 6 }).toBuffer();
  }
}
