import { createHash } from 'node:crypto';
import type { CacheMode } from '../../cache/header.ts';
import { type Embedded, SemanticIndex } from '../../cache/semantic-index.ts';
import type { Db } from '../../db/types.ts';
import type { Logger } from '../../lib/logger.ts';
import type { SiteBrief } from './schema.ts';
import { type CachedResponse, readCachedResponse, writeCachedResponse } from './sql.ts';

/** How long an entry asked for with the header lives when GENLOOP_CACHE_TTL_SECONDS is 0. */
const DEFAULT_TTL_MS = 3_600_000;

/** What the cache does for one brief. */
export type SiteCachePlan =
  | { kind: 'off' }
  /** Patch mode asked to be cached: a patch depends on the site sent, so it never is. */
  | { kind: 'bypass' }
  /** No header: identical create briefs share an answer while GENLOOP_CACHE_TTL_SECONDS > 0. */
  | { kind: 'brief'; key: string; ttlMs: number }
  | {
      kind: 'lookup';
      key: string;
      scope: string;
      requestHash: string;
      ttlMs: number;
      /** Set for `semantic`: the brief's prompt, compared by meaning within the rest of it. */
      semantic?: { context: string; text: string } | undefined;
      /** Why a request for `semantic` is looked up exactly only. */
      semanticState?: 'unavailable' | 'not_applicable' | undefined;
    };

/** What the site flow's cache needs. */
export interface SiteCacheDependencies {
  db: Db;
  logger: Logger;
  environment: string;
  /** GENLOOP_CACHE_TTL_SECONDS in ms (0: the brief cache is off). */
  cacheTtlMs: number;
  /** GENLOOP_CACHE_SCOPE: entries asked for with the header are the caller's own, or everyone's. */
  cacheScope?: 'user' | 'global' | undefined;
  /** The semantic index; without it `semantic` is looked up exactly only. */
  semanticIndex?: SemanticIndex | undefined;
}

/** The outcome of a lookup: a cached answer, and how the lookup went for `server-timing`. */
export interface SiteCacheLookup {
  cached: CachedResponse | undefined;
  timing: string | undefined;
  embedded: Embedded | undefined;
}

/**
 * The plan for a brief. `mode` is the `x-genloop-cache` header's (undefined when the request
 * sent none, which keeps the brief cache as it always was).
 */
export async function planSiteCache(
  deps: SiteCacheDependencies,
  brief: SiteBrief,
  userId: string,
  mode: CacheMode | undefined,
): Promise<SiteCachePlan> {
  const patchMode = brief.mode === 'patch';
  if (mode === undefined) {
    return !patchMode && deps.cacheTtlMs > 0
      ? { kind: 'brief', key: briefHash(deps.environment, brief), ttlMs: deps.cacheTtlMs }
      : { kind: 'off' };
  }
  if (mode === 'off') return { kind: 'off' };
  if (patchMode) return { kind: 'bypass' };
  const scope = deps.cacheScope === 'global' ? 'global' : userId;
  const requestHash = briefHash(deps.environment, brief);
  const plan: Extract<SiteCachePlan, { kind: 'lookup' }> = {
    kind: 'lookup',
    key: `site:${scope}:${requestHash}`,
    scope,
    requestHash,
    ttlMs: deps.cacheTtlMs || DEFAULT_TTL_MS,
  };
  if (mode !== 'semantic') return plan;
  if (!deps.semanticIndex || !(await deps.semanticIndex.available())) {
    return { ...plan, semanticState: 'unavailable' };
  }
  if (!SemanticIndex.comparable(brief.prompt)) return { ...plan, semanticState: 'not_applicable' };
  const { prompt, ...rest } = briefFields(brief);
  const context = JSON.stringify({ recipe: 'site', environment: deps.environment, ...rest });
  return { ...plan, semantic: { context, text: prompt } };
}

/** The exact entry, then (for `semantic`) the nearest by meaning within the distance. */
export async function lookupSiteCache(
  deps: SiteCacheDependencies,
  plan: SiteCachePlan,
  caller: {
    requestId: string;
    userId: string;
    simulate?: string | undefined;
    signal?: AbortSignal | undefined;
  },
): Promise<SiteCacheLookup> {
  if (plan.kind !== 'brief' && plan.kind !== 'lookup') {
    return { cached: undefined, timing: undefined, embedded: undefined };
  }
  const started = performance.now();
  const exact = await readCachedResponse(deps.db, plan.key).catch((error) => {
    deps.logger.warn({ err: error }, 'response cache read failed');
    return undefined;
  });
  const elapsed = () => (performance.now() - started).toFixed(2);
  if (exact || plan.kind === 'brief' || !plan.semantic || !deps.semanticIndex) {
    const desc = plan.kind === 'lookup' && plan.semantic ? 'desc="exact";' : '';
    return { cached: exact, timing: `cache;${desc}dur=${elapsed()}`, embedded: undefined };
  }
  const match = await deps.semanticIndex.nearest({
    scope: plan.scope,
    context: plan.semantic.context,
    text: plan.semantic.text,
    ...caller,
  });
  const distance = match.nearest?.distance;
  const dist = distance === undefined ? '' : `dist=${distance.toFixed(3)};`;
  const cached = match.within ? (match.nearest as CachedResponse | undefined) : undefined;
  return {
    cached,
    timing: `cache;desc="${cached ? 'semantic' : 'miss'}";${dist}dur=${elapsed()}`,
    embedded: match.embedded,
  };
}

/** Stores a generated site under the plan's key (and its embedding); failures are only logged. */
export async function storeSiteAnswer(
  deps: SiteCacheDependencies,
  plan: SiteCachePlan,
  embedded: Embedded | undefined,
  entry: { provider: string; model: string | null; response: CachedResponse['response'] },
): Promise<void> {
  if (plan.kind !== 'brief' && plan.kind !== 'lookup') return;
  const scoped = plan.kind === 'lookup' ? { scope: plan.scope, requestHash: plan.requestHash } : {};
  await writeCachedResponse(deps.db, {
    key: plan.key,
    recipe: 'site',
    ...entry,
    ttlMs: plan.ttlMs,
    ...scoped,
  }).catch((error) => deps.logger.warn({ err: error }, 'response cache write failed'));
  if (plan.kind === 'lookup' && embedded && deps.semanticIndex) {
    await deps.semanticIndex.store(embedded, {
      scope: plan.scope,
      requestHash: plan.requestHash,
      ...entry,
    });
  }
}

/** The fields of a create brief that decide the site, in a fixed order. */
function briefFields(brief: SiteBrief) {
  const { prompt, provider, business_name, audience, tone, sections, language } = brief;
  return { prompt, provider, business_name, audience, tone, sections, language };
}

/** sha256 (hex) of a create brief within a routing environment. */
function briefHash(environment: string, brief: SiteBrief): string {
  return createHash('sha256')
    .update(JSON.stringify({ environment, ...briefFields(brief) }))
    .digest('hex');
}
