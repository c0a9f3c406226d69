import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { expect, it } from 'vitest';
import { photo, pngBomb } from './fixtures.ts';
import { describeEachInteriorStack, form, type InteriorStack, json, submit } from './stack.ts';

const UPLOAD_MAX_BYTES = 200_000;

/** Everything a submission could have left behind, across the users of this file. */
async function leftovers(stack: InteriorStack, users: readonly string[]) {
  const { rows } = await stack.database.db.query<{ table: string; count: number }>(
    `select 'ai_generations' as table, count(*)::int as count from public.ai_generations where user_id = any($1::uuid[])
     union all select 'uploads', count(*)::int from public.uploads where user_id = any($1::uuid[])
     union all select 'usage_ledger', count(*)::int from public.usage_ledger where user_id = any($1::uuid[])
     union all select 'idempotency_keys', count(*)::int from public.idempotency_keys where user_id = any($1::uuid[])`,
    [users],
  );
  return {
    rows: Object.fromEntries(rows.map((row) => [row.table, row.count])),
    files: stack.storedFiles(),
  };
}

const NOTHING = {
  rows: { ai_generations: 0, uploads: 0, usage_ledger: 0, idempotency_keys: 0 },
  files: [],
};

/**
 * Sends `length` bytes to the upload route without ever ending the request, and resolves with
 * the answer and how many bytes were written when it came: an answer that arrives before the
 * body was sent proves the server did not wait to buffer it.
 */
function sendWithoutEnding(
  stack: InteriorStack,
  token: string,
  options: { length: number; chunked: boolean },
): Promise<{ status: number; body: string; written: number }> {
  const url = new URL('/api/v1/generations', stack.server.url);
  return new Promise((resolve, reject) => {
    let written = 0;
    const outgoing = httpRequest(url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'multipart/form-data; boundary=x',
        ...(options.chunked ? {} : { 'content-length': String(options.length) }),
      },
    });
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const pump = () => {
      while (written < options.length - chunk.length) {
        written += chunk.length;
        if (!outgoing.write(chunk)) {
          outgoing.once('drain', pump);
          return;
        }
      }
    };
    outgoing.on('response', (response) => {
      const parts: Buffer[] = [];
      response.on('data', (part: Buffer) => parts.push(part));
      response.on('end', () => {
        resolve({
          status: response.statusCode ?? 0,
          body: Buffer.concat(parts).toString(),
          written,
        });
        outgoing.destroy();
      });
    });
    outgoing.on('error', (error) => {
      // The server may close the socket after answering; the answer is what counts.
      if (written === 0) reject(error);
    });
    outgoing.flushHeaders();
    pump();
  });
}

describeEachInteriorStack(
  'interior: bad input is a clear 4xx naming the field, and stores nothing',
  (use) => {
    const users: string[] = [];
    async function asNewUser(stack: InteriorStack) {
      const userId = randomUUID();
      users.push(userId);
      return stack.token(userId);
    }

    async function expectProblem(
      response: Response,
      status: number,
      code: string,
      field?: string,
      fieldCode?: string,
    ) {
      const body = await json(response);
      expect(response.status, JSON.stringify(body)).toBe(status);
      expect(response.headers.get('content-type')).toContain('application/problem+json');
      expect(body.code).toBe(code);
      if (field !== undefined) {
        expect(body.errors, JSON.stringify(body)).toContainEqual(
          expect.objectContaining({ field, ...(fieldCode ? { code: fieldCode } : {}) }),
        );
      }
      return body;
    }

    it('uploads: zero bytes, not an image, a decompression bomb, too large for one image', async () => {
      const stack = use();
      const token = await asNewUser(stack);
      const fields = { mode: 'redesign', style: 'modern' };
      await expectProblem(
        await submit(stack, token, form(fields, [new Uint8Array(0)])),
        400,
        'invalid_image',
        'body.images.0',
        'empty_file',
      );
      await expectProblem(
        await submit(
          stack,
          token,
          form(fields, [
            {
              bytes: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'),
              name: 'room.png',
              type: 'image/png',
            },
          ]),
        ),
        400,
        'invalid_image',
        'body.images.0',
        'unsupported_image',
      );
      await expectProblem(
        await submit(
          stack,
          token,
          form(fields, [{ bytes: Buffer.from('GIF89a-not-really'), name: 'room.jpg' }]),
        ),
        400,
        'invalid_image',
        'body.images.0',
        'unsupported_image',
      );
      const bomb = pngBomb(8_000);
      expect(bomb.length).toBeLessThan(UPLOAD_MAX_BYTES);
      await expectProblem(
        await submit(
          stack,
          token,
          form(fields, [{ bytes: bomb, name: 'bomb.png', type: 'image/png' }]),
        ),
        400,
        'invalid_image',
        'body.images.0',
        'image_too_large',
      );
      // A truncated JPEG: the header is fine, the pixels are not.
      const truncated = (await photo('jpeg', 800, 600)).subarray(0, 2_000);
      await expectProblem(
        await submit(stack, token, form(fields, [truncated])),
        400,
        'invalid_image',
        'body.images.0',
      );
      await expectProblem(
        await submit(stack, token, form(fields, [Buffer.alloc(UPLOAD_MAX_BYTES + 1, 1)])),
        413,
        'payload_too_large',
        'body.images.0',
        'too_large',
      );
      // The second of two images is at fault: the field says which.
      await expectProblem(
        await submit(stack, token, form({ mode: 'compose' }, [await photo(), new Uint8Array(0)])),
        400,
        'invalid_image',
        'body.images.1',
        'empty_file',
      );
      expect(await leftovers(stack, users)).toEqual(NOTHING);
    });

    it('a body over the limit is refused with 413 before it has been sent, with or without Content-Length', async () => {
      const stack = use();
      const token = await asNewUser(stack);
      const limit = 4 * UPLOAD_MAX_BYTES + 1024 * 1024;
      // 64 MiB offered; the answer comes while at most the socket buffers' worth has been written.
      const offered = 64 * 1024 * 1024;
      const declared = await sendWithoutEnding(stack, token, { length: offered, chunked: false });
      expect(declared.status).toBe(413);
      expect(JSON.parse(declared.body).code).toBe('payload_too_large');
      expect(declared.written).toBeLessThan(offered / 4);
      const chunked = await sendWithoutEnding(stack, token, { length: offered, chunked: true });
      expect(chunked.status).toBe(413);
      expect(chunked.written).toBeLessThan(offered / 4);
      expect(chunked.written).toBeGreaterThan(limit - 64 * 1024);
      expect(await leftovers(stack, users)).toEqual(NOTHING);
    });

    it('modes and their inputs: wrong combinations name the field', async () => {
      const stack = use();
      const token = await asNewUser(stack);
      const image = await photo();
      const cases: [Record<string, string | number>, number, string, string][] = [
        [{ mode: 'imagine', prompt: 'a den' }, 1, 'body.images', 'image_count'],
        [{ mode: 'redesign', style: 'modern' }, 0, 'body.images', 'image_count'],
        [{ mode: 'redesign' }, 1, 'body.style', 'required'],
        [{ mode: 'staging' }, 1, 'body.room_type', 'required'],
        [{ mode: 'staging', room_type: 'bedroom' }, 2, 'body.images', 'image_count'],
        [{ mode: 'compose' }, 1, 'body.images', 'image_count'],
        [{ mode: 'compose' }, 5, 'body.images', 'too_many'],
        [{ mode: 'imagine' }, 0, 'body.prompt', 'required'],
      ];
      for (const [fields, count, field, code] of cases) {
        await expectProblem(
          await submit(stack, token, form(fields, Array(count).fill(image))),
          400,
          'validation_failed',
          field,
          code,
        );
      }
      // JSON: imagine with upload ids, redesign without.
      await expectProblem(
        await submit(stack, token, {
          mode: 'imagine',
          prompt: 'a den',
          upload_ids: [randomUUID()],
        }),
        400,
        'validation_failed',
        'body.upload_ids',
        'image_count',
      );
      await expectProblem(
        await submit(stack, token, { mode: 'redesign', style: 'modern' }),
        400,
        'validation_failed',
        'body.images',
        'image_count',
      );
      expect(await leftovers(stack, users)).toEqual(NOTHING);
    });

    it('fields: unknown mode, aspect ratio or quality, too many variants, unknown fields, bad text', async () => {
      const stack = use();
      const token = await asNewUser(stack);
      const base = { mode: 'imagine', prompt: 'a den' };
      const cases: [Record<string, unknown>, string][] = [
        [{ ...base, mode: 'remodel' }, 'body.mode'],
        [{ ...base, aspect_ratio: '5:4' }, 'body.aspect_ratio'],
        [{ ...base, aspect_ratio: '16x9' }, 'body.aspect_ratio'],
        [{ ...base, quality: 'ultra' }, 'body.quality'],
        [{ ...base, variants: 5 }, 'body.variants'],
        [{ ...base, variants: 0 }, 'body.variants'],
        [{ ...base, variants: 2.5 }, 'body.variants'],
        [{ ...base, style: 'gothic' }, 'body.style'],
        [{ ...base, room_type: 'garage' }, 'body.room_type'],
        [{ ...base, colour: 'teal' }, 'body.colour'],
        [{ ...base, prompt: 'x'.repeat(1001) }, 'body.prompt'],
        [{ ...base, prompt: 'a den\u0000' }, 'body.prompt'],
        [{ ...base, prompt: '   ' }, 'body.prompt'],
        [{ ...base, prompt: 42 }, 'body.prompt'],
        [{ ...base, upload_ids: ['not-a-uuid'] }, 'body.upload_ids.0'],
      ];
      for (const [body, field] of cases) {
        await expectProblem(await submit(stack, token, body), 400, 'validation_failed', field);
      }
      // The same rules hold for multipart fields (strings there).
      await expectProblem(
        await submit(stack, token, form({ ...base, variants: 'four' })),
        400,
        'validation_failed',
        'body.variants',
      );
      await expectProblem(
        await submit(stack, token, form({ ...base, quality: 'ultra' })),
        400,
        'validation_failed',
        'body.quality',
      );
      const textImages = new FormData();
      textImages.append('mode', 'redesign');
      textImages.append('style', 'modern');
      textImages.append('images', 'https://example.com/room.jpg');
      await expectProblem(
        await submit(stack, token, textImages),
        400,
        'validation_failed',
        'body.images.0',
        'not_a_file',
      );
      expect(await leftovers(stack, users)).toEqual(NOTHING);
    });

    it('bodies: not JSON, not UTF-8, the wrong shape, empty, or another content type', async () => {
      const stack = use();
      const token = await asNewUser(stack);
      const post = (body: string | Uint8Array, type: string) =>
        stack.fetch('/api/v1/generations', {
          method: 'POST',
          token,
          headers: { 'content-type': type },
          body,
        });
      await expectProblem(await post('{"mode": ', 'application/json'), 400, 'invalid_json', 'body');
      await expectProblem(
        await post(new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x7d]), 'application/json'),
        400,
        'invalid_utf8',
        'body',
      );
      await expectProblem(
        await post('[1, 2]', 'application/json'),
        400,
        'validation_failed',
        'body',
      );
      await expectProblem(await post('', 'application/json'), 400, 'empty_body', 'body');
      await expectProblem(
        await post('mode=imagine', 'text/plain'),
        415,
        'unsupported_media_type',
        'header.content-type',
      );
      // A multipart body cut short: unreadable, or missing what the mode needs; a 400 either way.
      const cut = await post(
        '--x\r\nContent-Disposition: form-data; name="mode"\r\n\r\nimag',
        'multipart/form-data; boundary=x',
      );
      expect(cut.status).toBe(400);
      expect(cut.headers.get('content-type')).toContain('application/problem+json');
      expect(await leftovers(stack, users)).toEqual(NOTHING);
    });

    it('moderation refuses inappropriate text with one generic message', async () => {
      const stack = use();
      const token = await asNewUser(stack);
      for (const prompt of [
        'a nude model on the sofa',
        'blood and gore on the walls',
        'n.u.d.e art',
      ]) {
        const body = await expectProblem(
          await submit(stack, token, { mode: 'imagine', prompt }),
          400,
          'content_rejected',
          'body.prompt',
          'content_rejected',
        );
        expect(body.detail).toBe(
          'the request contains content that cannot be generated; please rephrase it',
        );
        expect(JSON.stringify(body)).not.toMatch(/sexual|violence|nude|gore/);
      }
      expect(await leftovers(stack, users)).toEqual(NOTHING);
    });

    it('no token: 401; the routes are documented', async () => {
      const stack = use();
      const response = await stack.fetch('/api/v1/generations', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ mode: 'imagine', prompt: 'a den' }),
      });
      expect(response.status).toBe(401);
      expect((await stack.fetch(`/api/v1/generations/${randomUUID()}`)).status).toBe(401);
      expect((await stack.fetch('/api/v1/renders')).status).toBe(401);
      // The routes are in the OpenAPI document.
      const paths = Object.keys((await json(await stack.fetch('/openapi.json'))).paths);
      expect(paths).toEqual(
        expect.arrayContaining([
          '/api/v1/generations',
          '/api/v1/generations/{id}',
          '/api/v1/renders',
          '/api/v1/renders/{id}',
          '/api/v1/webhooks/replicate',
        ]),
      );
    });
  },
  { env: { GENLOOP_UPLOAD_MAX_BYTES: String(UPLOAD_MAX_BYTES) } },
);
