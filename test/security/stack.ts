import { randomUUID } from 'node:crypto';
import type { DriverName } from '../helpers/db.ts';
import { eventually } from '../helpers/stack.ts';
import { type InteriorStack, startInteriorStack } from '../interior/stack.ts';

/**
 * genloop with every route mounted, as `serve` mounts it: the generation recipes, the gateway,
 * the interior flow (uploads, renders, files) and Replicate's webhook. The app is driven
 * in-process; a real server exists too, because the simulator delivers Replicate webhooks to
 * the address a generation was submitted on. Workers run both recipes and are started on demand.
 */
export type SecurityStack = InteriorStack;

export function startSecurityStack(driver: DriverName): Promise<SecurityStack> {
  return startInteriorStack(driver, {
    allRecipes: true,
    // The webhook is what normally ends a job; a short poll only guards against a lost one.
    pollDelays: { initialMs: 1_000, maxMs: 2_000 },
  });
}

/** The objects one user owns after running both flows to the end, by kind. */
export interface OwnedObjects {
  userId: string;
  token: string;
  /** A flashcard generation that succeeded, with its suggestions. */
  flashcardGeneration: string;
  /** Its suggestions, in order: the first accepted (it has a card), the rest proposed. */
  suggestions: string[];
  card: string;
  /** A flashcard generation still pending (no worker ran it): cancelable. */
  pendingFlashcardGeneration: string;
  /** An interior generation that succeeded, with its render. */
  interiorGeneration: string;
  render: string;
  /** Replicate's id of the interior generation's prediction. */
  predictionId: string;
  /** An interior generation still pending: cancelable. */
  pendingInteriorGeneration: string;
}

const SOURCE_TEXT =
  'The Great Barrier Reef is the largest coral reef system in the world. It lies off the coast of Queensland. ' +
  'It is composed of over 2,900 individual reefs and 900 islands. It stretches for over 2,300 kilometres. ';

// biome-ignore lint/suspicious/noExplicitAny: the flows read fields of arbitrary JSON answers.
async function ok(response: Response, status: number): Promise<Record<string, any>> {
  const text = await response.text();
  if (response.status !== status) {
    throw new Error(`expected ${status}, got ${response.status}: ${text.slice(0, 500)}`);
  }
  return text === '' ? {} : JSON.parse(text);
}

/**
 * Runs the flashcard and interior flows to completion for `count` fresh users, through the
 * API and a worker, accepts each user's first suggestion, then stops the worker and leaves one
 * job of each recipe pending per user (a worker would otherwise run it).
 */
export async function createOwnedObjects(
  stack: SecurityStack,
  count: number,
): Promise<OwnedObjects[]> {
  const json = { 'content-type': 'application/json' };
  const users = await Promise.all(
    Array.from({ length: count }, async () => {
      const userId = randomUUID();
      return { userId, token: await stack.token(userId) };
    }),
  );
  await stack.startWorker();
  let finished: Omit<
    OwnedObjects,
    'pendingFlashcardGeneration' | 'pendingInteriorGeneration' | 'predictionId'
  >[];
  try {
    finished = await Promise.all(
      users.map(async ({ userId, token }) => {
        const flashcards = await ok(
          await stack.fetch('/api/ai/generations', {
            method: 'POST',
            token,
            headers: json,
            body: JSON.stringify({ source_text: SOURCE_TEXT.repeat(8) }),
          }),
          202,
        );
        const interior = await ok(
          await stack.fetch('/api/v1/generations', {
            method: 'POST',
            token,
            headers: json,
            body: JSON.stringify({
              mode: 'imagine',
              prompt: 'a sunroom with terracotta tiles',
              quality: 'draft',
              variants: 2,
            }),
          }),
          202,
        );
        const flashcardGeneration: string = flashcards.generation_id;
        const interiorGeneration: string = interior.id;
        await waitUntilDone(stack, token, `/api/ai/generations/${flashcardGeneration}`);
        const done = await waitUntilDone(stack, token, `/api/v1/generations/${interiorGeneration}`);
        if (!done.render_id || done.variants.length === 0) throw new Error('no render variants');
        const suggestions = (
          await ok(
            await stack.fetch(`/api/ai/suggestions?generation_id=${flashcardGeneration}`, {
              token,
            }),
            200,
          )
        ).data.map((suggestion: { id: string }) => suggestion.id) as string[];
        if (suggestions.length < 4) throw new Error(`only ${suggestions.length} suggestions`);
        const card = await ok(
          await stack.fetch(`/api/ai/suggestions/${suggestions[0]}/accept`, {
            method: 'POST',
            token,
          }),
          201,
        );
        return {
          userId,
          token,
          flashcardGeneration,
          suggestions,
          card: card.id as string,
          interiorGeneration,
          render: done.render_id as string,
        };
      }),
    );
  } finally {
    await stack.stopWorkers();
  }
  const owned: OwnedObjects[] = [];
  for (const objects of finished) {
    const { token } = objects;
    const pendingFlashcards = await ok(
      await stack.fetch('/api/ai/generations', {
        method: 'POST',
        token,
        headers: json,
        body: JSON.stringify({ source_text: `pending ${SOURCE_TEXT.repeat(8)}` }),
      }),
      202,
    );
    const pendingInterior = await ok(
      await stack.fetch('/api/v1/generations', {
        method: 'POST',
        token,
        headers: json,
        body: JSON.stringify({ mode: 'imagine', prompt: 'a loft', quality: 'draft' }),
      }),
      202,
    );
    const { rows } = await stack.database.db.query<{ provider_prediction_id: string }>(
      'select provider_prediction_id from public.ai_generations where id = $1',
      [objects.interiorGeneration],
    );
    owned.push({
      ...objects,
      pendingFlashcardGeneration: pendingFlashcards.generation_id,
      pendingInteriorGeneration: pendingInterior.id,
      predictionId: rows[0]!.provider_prediction_id,
    });
  }
  return owned;
}

/** Polls a generation until it leaves pending and running; it must have succeeded. */
// biome-ignore lint/suspicious/noExplicitAny: the flows read fields of arbitrary JSON answers.
function waitUntilDone(stack: SecurityStack, token: string, path: string): Promise<any> {
  return eventually(async () => {
    const body = await ok(await stack.fetch(path, { token }), 200);
    if (body.status === 'pending' || body.status === 'running') return undefined;
    if (body.status !== 'succeeded') throw new Error(`${path} ended ${body.status}`);
    return body;
  }, 30_000);
}
