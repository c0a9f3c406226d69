import type { Embedded, SemanticIndex } from '../cache/semantic-index.ts';
import { SemanticIndex as Index } from '../cache/semantic-index.ts';
import type { ResolvedConfig } from '../config/schema.ts';
import type { CancelSource } from '../lib/cancellation.ts';
import type { ChatCompletion } from '../providers/types.ts';
import type { RouteMetadata } from '../routing/types.ts';
import { SEMANTIC_DIMENSIONS } from '../sql/semantic-cache.ts';
import {
  answerFields,
  type CacheHit,
  cacheHit,
  canonicalJson,
  type ExactKey,
  type SemanticPlan,
  storedAnswer,
} from './cache.ts';

/** Who the lookup's embedding call is made for. */
export interface EmbedFor {
  requestId: string;
  userId: string | null;
  simulate?: string | undefined;
  signal?: CancelSource | undefined;
}

/** What the semantic lookup found: a hit within the distance, and the nearest distance seen. */
export interface SemanticLookup {
  hit: CacheHit | undefined;
  /** The nearest entry's distance, hit or not; undefined when there was none to compare. */
  distance: number | undefined;
}

/**
 * The gateway's use of the semantic index: a chat request is compared by its last user
 * message, within the context of everything else it says (environment, model, parameters,
 * earlier messages), so that only answers to the same conversation, worded differently, match.
 */
export class GatewaySemanticCache {
  constructor(
    private readonly index: SemanticIndex,
    private readonly config: Pick<ResolvedConfig, 'environment'>,
  ) {}

  available(): Promise<boolean> {
    return this.index.available();
  }

  /**
   * The semantic plan of a request whose exact plan is `exact`, or undefined when its last
   * message cannot be compared: not the user's, not text alone, empty or very long.
   */
  plan(exact: ExactKey, body: Record<string, unknown>): SemanticPlan | undefined {
    const messages = body.messages as Array<Record<string, unknown>>;
    const last = messages.at(-1);
    if (last?.role !== 'user') return undefined;
    const text = plainText(last.content);
    if (text === undefined || !Index.comparable(text)) return undefined;
    const { content: _compared, ...lastWithoutContent } = last;
    const context = canonicalJson({
      recipe: 'gateway',
      environment: this.config.environment,
      request: { ...answerFields(body), messages: messages.slice(0, -1) },
      last: lastWithoutContent,
      dimensions: SEMANTIC_DIMENSIONS,
    });
    return { ...exact, kind: 'semantic', context, text };
  }

  /** Embeds the plan's text and answers with the nearest stored completion within the distance. */
  async lookup(plan: SemanticPlan, caller: EmbedFor): Promise<SemanticLookup> {
    const match = await this.index.nearest({
      scope: plan.scope,
      context: plan.context,
      text: plan.text,
      ...caller,
    });
    plan.embedded = match.embedded;
    const distance = match.nearest?.distance;
    const hit = match.within && match.nearest ? cacheHit(match.nearest) : undefined;
    return { hit: hit ? { ...hit, distance } : undefined, distance };
  }

  /** Stores a routed completion under the embedding its lookup made. */
  store(plan: SemanticPlan, metadata: RouteMetadata, completion: ChatCompletion): Promise<void> {
    const embedded: Embedded | undefined = plan.embedded;
    if (!embedded || !metadata.selectedProvider) return Promise.resolve();
    return this.index.store(embedded, {
      scope: plan.scope,
      requestHash: plan.requestHash,
      provider: metadata.selectedProvider,
      model: completion.model ?? metadata.model,
      response: storedAnswer(metadata, completion),
    });
  }
}

/** A message's content as plain text: a string, or text parts only (no images, no audio). */
function plainText(content: unknown): string | undefined {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return undefined;
  let text = '';
  for (const part of content) {
    if (typeof part !== 'object' || part === null) return undefined;
    const { type, text: partText } = part as { type?: unknown; text?: unknown };
    if (type !== 'text' || typeof partText !== 'string') return undefined;
    text += partText;
  }
  return text;
}
