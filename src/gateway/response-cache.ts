import { CACHE_HEADER, parseCacheHeader, SEMANTIC_HEADER } from '../cache/header.ts';
import type { Exchange } from '../http/exchange.ts';
import type { ChatCompletion } from '../providers/types.ts';
import type { RouteMetadata } from '../routing/types.ts';
import type { Services } from '../services.ts';
import { type CacheHit, type CachePlan, ExactCache } from './cache.ts';
import { GatewaySemanticCache } from './semantic-cache.ts';

/** A plan that looks something up. */
type LookupPlan = Extract<CachePlan, { kind: 'exact' | 'semantic' }>;

/**
 * The gateway's response cache as a chat route uses it: the plan from `x-genloop-cache` (and
 * the answer headers that report it), the lookup (exact, then by meaning when asked for), and
 * the store once a routed answer is complete.
 *
 * `semantic` where the database has no `ai_semantic_cache` (a Postgres without pgvector) is
 * answered from the exact cache, with `x-genloop-cache-semantic: unavailable`, rather than
 * refused: a client that asks for it keeps working everywhere, and only its hit rate differs.
 * A request whose last message is not plain user text gets `not_applicable` and the same.
 */
export class ResponseCache {
  readonly exact: ExactCache;
  readonly semantic: GatewaySemanticCache;

  constructor(private readonly services: Services) {
    this.exact = new ExactCache({
      db: services.db,
      logger: services.logger,
      config: services.config,
    });
    this.semantic = new GatewaySemanticCache(services.semanticIndex, services.config);
  }

  /** Plans the request and sets the answer headers that say so; throws the 400 for a bad header. */
  async plan(exchange: Exchange, body: Record<string, unknown>): Promise<CachePlan> {
    const header = exchange.header(CACHE_HEADER);
    const exact = this.exact.plan(header, body, exchange.auth);
    if (exact.kind === 'off') return exact;
    exchange.setHeader(CACHE_HEADER, exact.kind === 'bypass' ? 'bypass' : 'miss');
    if (exact.kind !== 'exact') return exact;
    if (parseCacheHeader(header, this.services.config.responseCacheDefault).mode !== 'semantic') {
      return exact;
    }
    if (!(await this.semantic.available())) {
      exchange.setHeader(SEMANTIC_HEADER, 'unavailable');
      return exact;
    }
    const semantic = this.semantic.plan(exact, body);
    if (!semantic) exchange.setHeader(SEMANTIC_HEADER, 'not_applicable');
    return semantic ?? exact;
  }

  /**
   * The cached answer for the plan, if any, with the lookup in `server-timing`: `cache;dur=` for
   * the exact cache; for the semantic one, which of the two answered (`desc="exact"`,
   * `desc="semantic"` with the distance, or `desc="miss"` with the nearest distance seen).
   */
  async lookup(
    exchange: Exchange,
    plan: CachePlan,
    caller: { userId: string | null },
  ): Promise<CacheHit | undefined> {
    if (plan.kind !== 'exact' && plan.kind !== 'semantic') return undefined;
    const started = performance.now();
    const exactHit = await this.exact.lookup(plan);
    if (plan.kind === 'exact' || exactHit) {
      const desc = plan.kind === 'semantic' ? 'desc="exact";' : '';
      exchange.setHeader('server-timing', `cache;${desc}dur=${elapsed(started)}`, true);
      return exactHit;
    }
    const { hit, distance } = await this.semantic.lookup(plan, {
      requestId: exchange.requestId,
      userId: caller.userId,
      simulate: exchange.header('x-genloop-simulate'),
      signal: exchange.signal,
    });
    const dist = distance === undefined ? '' : `dist=${distance.toFixed(3)};`;
    exchange.setHeader(
      'server-timing',
      `cache;desc="${hit ? 'semantic' : 'miss'}";${dist}dur=${elapsed(started)}`,
      true,
    );
    return hit;
  }

  /** What to call with a complete routed answer, for plans that store one. */
  storer(
    plan: CachePlan,
  ): ((metadata: RouteMetadata, completion: ChatCompletion) => void) | undefined {
    if (plan.kind !== 'exact' && plan.kind !== 'semantic') return undefined;
    return (metadata, completion) => void this.store(plan, metadata, completion);
  }

  private async store(
    plan: LookupPlan,
    metadata: RouteMetadata,
    completion: ChatCompletion,
  ): Promise<void> {
    await this.exact.store(plan, metadata, completion);
    if (plan.kind === 'semantic') await this.semantic.store(plan, metadata, completion);
  }
}

function elapsed(started: number): string {
  return (performance.now() - started).toFixed(2);
}
