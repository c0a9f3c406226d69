import { randomUUID } from 'node:crypto';
import sharp from 'sharp';
import { expect, it } from 'vitest';
import { photo, withTamperedSignature } from './fixtures.ts';
import {
  describeEachInteriorStack,
  form,
  type InteriorStack,
  jobRow,
  json,
  ledger,
  submit,
  waitForStatus,
} from './stack.ts';

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

/** The SDK's create calls the simulator received, newest last. */
function creates(stack: InteriorStack) {
  return stack.simulator
    .requests({ provider: 'replicate', method: 'POST', path: /predictions$/ })
    .map((request) => request.body as { input: Record<string, unknown>; webhook?: string });
}

async function imageOf(response: Response) {
  expect(response.status).toBe(200);
  const bytes = Buffer.from(await response.arrayBuffer());
  return { type: response.headers.get('content-type'), meta: await sharp(bytes).metadata() };
}

describeEachInteriorStack('interior generations end to end', (use) => {
  it('redesign: 202 → worker creates the prediction → webhook → WebP variants → status with URLs', async () => {
    const stack = use();
    await stack.startWorker();
    const userId = randomUUID();
    const token = await stack.token(userId);
    const created = await submit(
      stack,
      token,
      form(
        {
          mode: 'redesign',
          style: 'coastal',
          room_type: 'living_room',
          aspect_ratio: '16:9',
          quality: 'draft',
          variants: 2,
          prompt: 'keep the fireplace',
        },
        [await photo('jpeg', 640, 360)],
      ),
    );
    expect(created.status).toBe(202);
    const accepted = await json(created);
    expect(Object.keys(accepted).sort()).toEqual(['id', 'status']);
    expect(accepted.status).toBe('pending');

    const done = await waitForStatus(stack, token, accepted.id);
    expect(done).toMatchObject({ id: accepted.id, status: 'succeeded', mode: 'redesign' });
    expect(done.error).toBeUndefined();
    expect(done.variants).toHaveLength(2);

    // What the replicate SDK sent: the adapter's mapping, the webhook, the signed photo link.
    const sent = creates(stack).at(-1)!;
    expect(sent.input).toMatchObject({
      aspect_ratio: '16:9',
      width: 512,
      height: 288,
      num_outputs: 2,
      prompt_strength: 0.75,
    });
    expect(String(sent.input.prompt)).toContain('Australian coastal style');
    expect(String(sent.input.prompt)).toContain('keep the fireplace');
    expect(sent.webhook).toBe(`${stack.server.url}/api/v1/webhooks/replicate`);
    const inputLink = String(sent.input.image);
    expect(inputLink).toMatch(
      new RegExp(
        `^${stack.server.url}/files/uploads/${userId}/${accepted.id}/input-1\\.jpg\\?expires=\\d+&signature=`,
      ),
    );
    // The private photo is readable with its signature only.
    const input = await imageOf(await fetch(inputLink));
    expect(input.type).toBe('image/jpeg');
    expect(input.meta).toMatchObject({ width: 640, height: 360 });
    expect((await fetch(inputLink.replace(/\?.*$/, ''))).status).toBe(403);
    expect((await fetch(withTamperedSignature(inputLink))).status).toBe(403);
    const expired = await stack.interior.deps.store.signedUrl(
      'uploads',
      `${userId}/${accepted.id}/input-1.jpg`,
      { expiresInSeconds: -60, baseUrl: stack.server.url },
    );
    expect((await fetch(expired)).status).toBe(403);
    // The signature of one object does not open another.
    expect((await fetch(inputLink.replace('/uploads/', '/renders/'))).status).toBe(404);
    for (const probe of [
      '/files/uploads/..%2f..%2fetc%2fpasswd',
      `/files/renders/${userId}/..%2F..%2Fuploads/${userId}/${accepted.id}/input-1.jpg`,
      '/files/nope/a.webp',
    ]) {
      expect((await fetch(`${stack.server.url}${probe}`)).status, probe).toBe(404);
    }

    // The variants: WebP at the requested size, public, under {user_id}/{generation_id}/.
    done.variants.forEach((variant: { url: string; thumbnail_url: string }, index: number) => {
      expect(variant.url).toBe(
        `${stack.server.url}/files/renders/${userId}/${accepted.id}/variant-${index + 1}.webp`,
      );
      expect(variant.thumbnail_url).toBe(
        `${stack.server.url}/files/renders/${userId}/${accepted.id}/variant-${index + 1}-thumb.webp`,
      );
    });
    for (const variant of done.variants) {
      expect(variant).toMatchObject({ width: 512, height: 288 });
      const full = await imageOf(await fetch(variant.url));
      expect(full.type).toBe('image/webp');
      expect(full.meta).toMatchObject({ format: 'webp', width: 512, height: 288 });
      const thumb = await imageOf(await fetch(variant.thumbnail_url));
      expect(thumb.meta.format).toBe('webp');
      expect(Math.max(thumb.meta.width!, thumb.meta.height!)).toBeLessThanOrEqual(384);
    }
    expect(
      stack
        .storedFiles()
        .filter((file) => file.includes(accepted.id))
        .sort(),
    ).toEqual(
      [
        `renders/${userId}/${accepted.id}/variant-1-thumb.webp`,
        `renders/${userId}/${accepted.id}/variant-1.webp`,
        `renders/${userId}/${accepted.id}/variant-2-thumb.webp`,
        `renders/${userId}/${accepted.id}/variant-2.webp`,
        `uploads/${userId}/${accepted.id}/input-1.jpg`,
      ].sort(),
    );

    // One prediction, one delivered webhook, one debit (reserve then settle), one telemetry row.
    const row = await jobRow(stack, accepted.id);
    expect(row?.provider_prediction_id).toMatch(/\w+/);
    expect(
      creates(stack).filter((request) => String(request.input.image).includes(accepted.id)),
    ).toHaveLength(1);
    await stack.simulator.webhooksIdle();
    const deliveries = stack.simulator
      .webhookDeliveries()
      .filter((delivery) => delivery.predictionId === row?.provider_prediction_id);
    // Delivered once accepted; a delivery that beat the worker storing the prediction id is
    // answered 404 first, and Replicate's retry is what lands.
    expect(deliveries).toHaveLength(1);
    expect(deliveries[0]).toMatchObject({
      event: 'completed',
      status: 'succeeded',
      outcome: 'delivered',
    });
    expect(deliveries[0]!.attempts.at(-1)).toBe(200);
    expect(deliveries[0]!.attempts.slice(0, -1).every((status) => status === 404)).toBe(true);
    expect(await ledger(stack, userId)).toEqual(['reserve:-1', 'settle:0']);
    const { rows: telemetry } = await stack.database.db.query(
      'select 1 from public.ai_training_examples where generation_id = $1',
      [accepted.id],
    );
    expect(telemetry).toHaveLength(1);
    const { rows: uploads } = await stack.database.db.query<{ path: string; bucket: string }>(
      'select bucket, path from public.uploads where generation_id = $1',
      [accepted.id],
    );
    expect(uploads).toEqual([{ bucket: 'uploads', path: `${userId}/${accepted.id}/input-1.jpg` }]);
    await stack.stopWorkers();
  });

  it('imagine: JSON, no photo, a text prompt → square variants', async () => {
    const stack = use();
    await stack.startWorker();
    const userId = randomUUID();
    const token = await stack.token(userId);
    const created = await submit(stack, token, {
      mode: 'imagine',
      prompt: 'A sunlit Queenslander kitchen with a long timber island',
      room_type: 'kitchen',
      style: 'hamptons',
      quality: 'draft',
    });
    expect(created.status).toBe(202);
    const { id } = await json(created);
    const done = await waitForStatus(stack, token, id);
    expect(done.status).toBe('succeeded');
    expect(done.variants).toEqual([
      {
        url: `${stack.server.url}/files/renders/${userId}/${id}/variant-1.webp`,
        thumbnail_url: `${stack.server.url}/files/renders/${userId}/${id}/variant-1-thumb.webp`,
        width: 512,
        height: 512,
      },
    ]);
    const sent = creates(stack).at(-1)!;
    expect(sent.input).not.toHaveProperty('image');
    expect(String(sent.input.prompt)).toMatch(/^A sunlit Queenslander kitchen/);
    expect(String(sent.input.prompt)).toContain('Hamptons style');
    await stack.stopWorkers();
  });

  it('compose: several photos stored in order and all sent to the model', async () => {
    const stack = use();
    await stack.startWorker();
    const userId = randomUUID();
    const token = await stack.token(userId);
    const created = await submit(
      stack,
      token,
      form({ mode: 'compose', room_type: 'bedroom', quality: 'draft' }, [
        await photo('jpeg'),
        await photo('png', 200, 200),
        await photo('webp', 100, 150),
      ]),
    );
    expect(created.status).toBe(202);
    const { id } = await json(created);
    expect((await waitForStatus(stack, token, id)).status).toBe('succeeded');
    const sent = creates(stack).at(-1)!;
    const links = sent.input.image_input as string[];
    expect(links).toHaveLength(3);
    links.forEach((link, index) => {
      expect(link).toContain(`/files/uploads/${userId}/${id}/input-${index + 1}.jpg?`);
    });
    expect(sent.input.image).toBe(links[0]);
    // Every input was normalised to JPEG, whatever it came as.
    for (const link of links) expect((await imageOf(await fetch(link))).type).toBe('image/jpeg');
    await stack.stopWorkers();
  });

  it('JSON upload_ids reuse an earlier photo of the same user only', async () => {
    const stack = use();
    await stack.startWorker();
    const userId = randomUUID();
    const token = await stack.token(userId);
    const first = await json(
      await submit(
        stack,
        token,
        form({ mode: 'staging', room_type: 'bedroom', quality: 'draft' }, [await photo()]),
      ),
    );
    await waitForStatus(stack, token, first.id);
    const { rows } = await stack.database.db.query<{ id: string }>(
      'select id from public.uploads where generation_id = $1',
      [first.id],
    );
    const uploadId = rows[0]!.id;

    const other = await submit(stack, await stack.token(), {
      mode: 'redesign',
      style: 'japandi',
      upload_ids: [uploadId],
    });
    expect(other.status).toBe(400);
    expect((await json(other)).errors).toEqual([
      expect.objectContaining({ field: 'body.upload_ids.0', code: 'not_found' }),
    ]);

    const again = await submit(stack, token, {
      mode: 'redesign',
      style: 'japandi',
      quality: 'draft',
      upload_ids: [uploadId],
    });
    expect(again.status).toBe(202);
    const { id } = await json(again);
    expect((await waitForStatus(stack, token, id)).status).toBe('succeeded');
    expect(String(creates(stack).at(-1)!.input.image)).toContain(
      `/files/uploads/${userId}/${first.id}/input-1.jpg?`,
    );
    await stack.stopWorkers();
  });

  it('one generation in flight per user: a second is 409 job_in_flight and stores nothing', async () => {
    const stack = use();
    // No worker: the first job stays pending.
    const userId = randomUUID();
    const token = await stack.token(userId);
    const first = await submit(stack, token, { mode: 'imagine', prompt: 'a quiet study' });
    expect(first.status).toBe(202);
    const filesBefore = stack.storedFiles().length;
    const second = await submit(
      stack,
      token,
      form({ mode: 'redesign', style: 'modern' }, [await photo()]),
    );
    expect(second.status).toBe(409);
    expect(second.headers.get('content-type')).toContain('application/problem+json');
    expect((await json(second)).code).toBe('job_in_flight');
    expect(stack.storedFiles()).toHaveLength(filesBefore);
    const { rows } = await stack.database.db.query(
      'select id from public.ai_generations where user_id = $1',
      [userId],
    );
    expect(rows).toHaveLength(1);
    expect(await ledger(stack, userId)).toEqual(['reserve:-1']);
    // Another user is not affected.
    expect(
      (await submit(stack, await stack.token(), { mode: 'imagine', prompt: 'a den' })).status,
    ).toBe(202);

    // Once it ends, the user may submit again.
    await stack.startWorker();
    await waitForStatus(stack, token, (await json(first)).id);
    expect((await submit(stack, token, { mode: 'imagine', prompt: 'a porch' })).status).toBe(202);
    await stack.stopWorkers();
  });

  it('quota: a user with no generations left gets 402 quota_exceeded and nothing is stored', async () => {
    const stack = use();
    const userId = randomUUID();
    const token = await stack.token(userId);
    await stack.database.db.query(
      `insert into public.usage_ledger (user_id, kind, amount, idempotency_key)
       values ($1, 'adjust', $2, $3)`,
      [userId, -stack.config.limits.monthlyQuota, `test:${userId}`],
    );
    const filesBefore = stack.storedFiles().length;
    const refused = await submit(
      stack,
      token,
      form({ mode: 'redesign', style: 'modern' }, [await photo()]),
    );
    expect(refused.status).toBe(402);
    expect((await json(refused)).code).toBe('quota_exceeded');
    expect(stack.storedFiles()).toHaveLength(filesBefore);
    const { rows } = await stack.database.db.query(
      'select 1 from public.ai_generations where user_id = $1 union all select 1 from public.uploads where user_id = $1',
      [userId],
    );
    expect(rows).toHaveLength(0);
  });

  it('status is owner-only; renders list, filter, paginate, read and delete with their blobs', async () => {
    const stack = use();
    await stack.startWorker();
    const userId = randomUUID();
    const token = await stack.token(userId);
    const ids: string[] = [];
    for (const [mode, extra] of [
      ['imagine', { prompt: 'a reading nook', style: 'bohemian' }],
      ['imagine', { prompt: 'a laundry', style: 'modern' }],
      ['imagine', { prompt: 'a mudroom', style: 'bohemian' }],
    ] as const) {
      const created = await json(await submit(stack, token, { mode, quality: 'draft', ...extra }));
      await waitForStatus(stack, token, created.id);
      ids.push(created.id);
    }
    const stranger = await stack.token();
    expect((await stack.fetch(`/api/v1/generations/${ids[0]}`, { token: stranger })).status).toBe(
      404,
    );
    expect((await stack.fetch('/api/v1/generations/not-a-uuid', { token })).status).toBe(404);

    const page1 = await json(await stack.fetch('/api/v1/renders?limit=2', { token }));
    expect(page1.data.map((r: { generation_id: string }) => r.generation_id)).toEqual([
      ids[2],
      ids[1],
    ]);
    expect(page1.next_cursor).toEqual(expect.any(String));
    const page2 = await json(
      await stack.fetch(`/api/v1/renders?limit=2&cursor=${encodeURIComponent(page1.next_cursor)}`, {
        token,
      }),
    );
    expect(page2.data.map((r: { generation_id: string }) => r.generation_id)).toEqual([ids[0]]);
    expect(page2.next_cursor).toBeNull();
    const bohemian = await json(await stack.fetch('/api/v1/renders?style=bohemian', { token }));
    expect(bohemian.data).toHaveLength(2);
    expect((await stack.fetch('/api/v1/renders?style=gothic', { token })).status).toBe(400);
    expect((await json(await stack.fetch('/api/v1/renders', { token: stranger }))).data).toEqual(
      [],
    );

    const render = page2.data[0];
    expect(render).toMatchObject({ mode: 'imagine', style: 'bohemian', prompt: 'a reading nook' });
    expect((await stack.fetch(`/api/v1/renders/${render.id}`, { token: stranger })).status).toBe(
      404,
    );
    expect(
      (await stack.fetch(`/api/v1/renders/${render.id}`, { token: stranger, method: 'DELETE' }))
        .status,
    ).toBe(404);
    const one = await json(await stack.fetch(`/api/v1/renders/${render.id}`, { token }));
    expect(one.variants[0].url).toMatch(
      new RegExp(`/files/renders/${userId}/${UUID}/variant-1\\.webp$`),
    );
    expect((await fetch(one.variants[0].url)).status).toBe(200);

    const deleted = await stack.fetch(`/api/v1/renders/${render.id}`, {
      token,
      method: 'DELETE',
    });
    expect(deleted.status).toBe(204);
    expect((await stack.fetch(`/api/v1/renders/${render.id}`, { token })).status).toBe(404);
    expect((await fetch(one.variants[0].url)).status).toBe(404);
    expect((await fetch(one.variants[0].thumbnail_url)).status).toBe(404);
    expect(stack.storedFiles().some((file) => file.includes(ids[0]!))).toBe(false);
    const status = await json(await stack.fetch(`/api/v1/generations/${ids[0]}`, { token }));
    expect(status).toMatchObject({ status: 'succeeded', variants: [] });
    await stack.stopWorkers();
  });

  it('Idempotency-Key replays the first answer and creates one job', async () => {
    const stack = use();
    const userId = randomUUID();
    const token = await stack.token(userId);
    const body = { mode: 'imagine', prompt: 'a breezy sunroom' };
    const key = { 'idempotency-key': `interior-${randomUUID()}` };
    const first = await submit(stack, token, body, key);
    const again = await submit(stack, token, body, key);
    expect(first.status).toBe(202);
    expect(again.status).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect((await json(again)).id).toBe((await json(first)).id);
    const different = await submit(stack, token, { ...body, prompt: 'a loft' }, key);
    expect(different.status).toBe(422);
    const { rows } = await stack.database.db.query(
      'select 1 from public.ai_generations where user_id = $1',
      [userId],
    );
    expect(rows).toHaveLength(1);
  });
});
