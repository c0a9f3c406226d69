import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { beforeAll, expect, it } from 'vitest';
import { type App, createApp } from '../../src/app.ts';
import { resolveConfig } from '../../src/config/resolve.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { describeEachDriver } from '../helpers/db.ts';

const SECRET = 'outcomes-test-secret-0123456789abcdefghijkl';

function token(sub: string, role = 'authenticated'): Promise<string> {
  return new SignJWT({ role })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(sub)
    .setAudience('authenticated')
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(SECRET));
}

describeEachDriver('POST /api/v1/generations/:id/outcomes', (use) => {
  let app: App;
  const owner = randomUUID();
  const stranger = randomUUID();
  const generationId = randomUUID();
  const requestId = randomUUID();

  beforeAll(async () => {
    const config = resolveConfig({
      env: { GENLOOP_JWT_SECRET: SECRET },
      cwd: '/nonexistent-genloop-cwd',
    });
    app = createApp({ config, db: use().db, logger: createLogger({ logLevel: 'silent' }) });
    await use().db.query(
      `insert into ai_training_examples
         (user_id, source, recipe, generation_id, status, request_id, selected_provider,
          route_strategy, prompt_template_version, output)
       values ($1, 'generation', 'site', $2, 'succeeded', $3, 'openai', 'weighted', 'site-v1', '{}'::jsonb)`,
      [owner, generationId, requestId],
    );
  });

  const post = async (id: string, body: unknown, user = owner) =>
    app.request(`/api/v1/generations/${id}/outcomes`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await token(user)}`, 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  const stored = async () =>
    (
      await use().db.query(
        'select edit_after_generate, patch_apply_success, publish_conversion from ai_training_examples where generation_id = $1',
        [generationId],
      )
    ).rows[0];

  it('lets the owner record outcomes by generation id, keeping the ones not given', async () => {
    const response = await post(generationId, { publish_conversion: true });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      id: generationId,
      updated: 1,
      edit_after_generate: null,
      patch_apply_success: null,
      publish_conversion: true,
    });
    const second = await post(generationId, {
      edit_after_generate: true,
      patch_apply_success: false,
    });
    expect(second.status).toBe(200);
    expect(await stored()).toEqual({
      edit_after_generate: true,
      patch_apply_success: false,
      publish_conversion: true,
    });
  });

  it('accepts the request id too', async () => {
    const response = await post(requestId, { publish_conversion: false });
    expect(response.status).toBe(200);
    expect((await stored())!.publish_conversion).toBe(false);
  });

  it('answers 404 for another user’s generation and changes nothing', async () => {
    const before = await stored();
    const response = await post(generationId, { publish_conversion: true }, stranger);
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(await response.json()).toMatchObject({ status: 404, code: 'not_found' });
    expect(await stored()).toEqual(before);
  });

  it('answers 404 for an id nobody has', async () => {
    expect((await post(randomUUID(), { publish_conversion: true })).status).toBe(404);
  });

  it.each([
    ['a non-boolean outcome', { publish_conversion: 'yes' }, 'body.publish_conversion'],
    ['an unknown field', { published: true }, 'body.published'],
    ['no outcome at all', {}, 'body'],
  ])('answers 400 with field errors for %s', async (_name, body, field) => {
    const before = await stored();
    const response = await post(generationId, body);
    expect(response.status).toBe(400);
    const problem = (await response.json()) as { code: string; errors: { field: string }[] };
    expect(problem.code).toBe('validation_failed');
    expect(problem.errors.map((error) => error.field)).toContain(field);
    expect(await stored()).toEqual(before);
  });

  it('answers 400 for an id that is not a uuid, and for a body that is not JSON', async () => {
    const badId = await post('not-a-uuid', { publish_conversion: true });
    expect(badId.status).toBe(400);
    expect(((await badId.json()) as { errors: { field: string }[] }).errors[0]!.field).toBe(
      'path.id',
    );
    const badJson = await post(generationId, '{"publish_conversion": tru');
    expect(badJson.status).toBe(400);
    expect(badJson.headers.get('content-type')).toBe('application/problem+json');
  });

  it('answers 401 without a token', async () => {
    const response = await app.request(`/api/v1/generations/${generationId}/outcomes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"publish_conversion": true}',
    });
    expect(response.status).toBe(401);
  });
});
