import type { GenerationsQuery, Job } from '../contract.ts';

/**
 * Lists every member of the string union `T`: the compiler refuses a value outside it and
 * names any member left out, so the console's filters follow the API's contract. (The contract
 * itself is not imported as code: it would bring zod into the browser bundle.)
 */
function allOf<T extends string>() {
  return <const V extends readonly T[]>(
    values: V &
      ([Exclude<T, V[number]>] extends [never] ? unknown : { missing: Exclude<T, V[number]> }),
  ): V => values;
}

type Filter<K extends keyof GenerationsQuery> = Exclude<GenerationsQuery[K], undefined>;

export const PROVIDERS = allOf<Filter<'provider'>>()([
  'openai',
  'custom',
  'openrouter',
  'replicate',
]);
export const ROUTE_STRATEGIES = allOf<Filter<'route_strategy'>>()([
  'single_provider',
  'weighted',
  'fallback',
]);
export const GENERATION_STATUSES = allOf<Filter<'status'>>()(['succeeded', 'failed']);
export const SOURCES = allOf<Filter<'source'>>()([
  'generation',
  'generation_cached',
  'patch',
  'import',
  'manual',
  'eval',
]);
export const RECIPES = allOf<Filter<'recipe'>>()(['site', 'flashcards', 'interior', 'gateway']);
export const JOB_RECIPES = allOf<Job['recipe']>()(['flashcards', 'interior', 'site']);
export const JOB_STATUSES = allOf<Job['status']>()([
  'pending',
  'running',
  'succeeded',
  'failed',
  'canceled',
  'timed_out',
]);
