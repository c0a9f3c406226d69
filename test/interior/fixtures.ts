import { deflateSync } from 'node:zlib';
import sharp from 'sharp';

/** A small real photo-like image (gradient noise), in the format asked for. */
export async function photo(
  format: 'jpeg' | 'png' | 'webp' = 'jpeg',
  width = 320,
  height = 240,
): Promise<Buffer> {
  const channels = 3;
  const pixels = Buffer.alloc(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const offset = (y * width + x) * channels;
      pixels[offset] = (x * 255) / width;
      pixels[offset + 1] = (y * 255) / height;
      pixels[offset + 2] = (x * y) % 256;
    }
  }
  return sharp(pixels, { raw: { width, height, channels } }).toFormat(format).toBuffer();
}

/**
 * A decompression bomb: a valid PNG of `side`×`side` grey pixels that is a few kilobytes on
 * disk (all zeros compress to almost nothing) but would take side² bytes once decoded.
 */
export function pngBomb(side = 8_000): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(side, 0);
  header.writeUInt32BE(side, 4);
  header[8] = 8; // bit depth
  header[9] = 0; // greyscale
  const rows = Buffer.alloc((side + 1) * side);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(rows, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

function crc32(bytes: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? 0xedb88320 ^ (crc >>> 1) : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** A signed link with another first signature character (never the same one): no longer valid. */
export function withTamperedSignature(url: string): string {
  const tampered = url.replace(/signature=(.)/, (_, first: string) =>
    first === 'A' ? 'signature=B' : 'signature=A',
  );
  if (tampered === url) throw new Error(`no signature in ${url}`);
  return tampered;
}
