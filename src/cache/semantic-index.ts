import { createHash } from 'node:crypto';
import type { ResolvedConfig } from '../config/schema.ts';
import type { Db } from '../db/types.ts';
import type { EmbeddingService } from '../embeddings/service.ts';
import type { CancelSource } from '../lib/cancellation.ts';
import type { Logger } from '../lib/logger.ts';
import {
  type NearestAnswer,
  SEMANTIC_DIMENSIONS,
  type SemanticCacheSql,
  selectNearestAnswer,
  semanticCacheSchema,
  semanticCacheSql,
  upsertSemanticAnswer,
} from '../sql/semantic-cache.ts';

/** Longer texts are cached exactly only: their embedding would stand for their start. */
const MAX_EMBEDDED_CHARS = 8_000;

/** How long "the table does not exist" is believed before asking the database again. */
const ABSENT_RECHECK_MS = 60_000;

/** How long an entry lives when GENLOOP_CACHE_TTL_SECONDS is 0, as in the exact cache. */
const DEFAULT_TTL_MS = 3_600_000;

/** What to look up: a text compared by meaning, within a scope and an exact context. */
export interface SemanticQuery {
  scope: string;
  /** Everything the answer depends on besides the text, serialised; compared exactly. */
  context: string;
  /** What is embedded and compared. */
  text: string;
  /** Whose embedding call this is: it is routed, budgeted and recorded as theirs. */
  requestId: string;
  userId: string | null;
  simulate?: string | undefined;
  signal?: CancelSource | undefined;
}

/** The text's embedding and the context hash it is stored and found under. */
export interface Embedded {
  vector: number[];
  contextHash: string;
}

/** What a lookup found: the nearest live entry (if any), and whether it is near enough. */
export interface SemanticMatch {
  nearest: NearestAnswer | undefined;
  /** True when the nearest entry is within GENLOOP_CACHE_SEMANTIC_DISTANCE. */
  within: boolean;
  /** Undefined when the text could not be embedded (the lookup was then a miss). */
  embedded: Embedded | undefined;
}

export interface SemanticIndexOptions {
  db: Db;
  logger: Logger;
  config: Pick<ResolvedConfig, 'semanticCacheDistance' | 'responseCacheTtlMs'>;
  embeddings: EmbeddingService;
}

/**
 * Answers stored by the meaning of a text, in `ai_semantic_cache`: the text is embedded through
 * genloop's own routing (a recorded, budgeted embeddings call, GENLOOP_EMBEDDING_MODEL shortened
 * to 256 dimensions) and compared by cosine distance, through pgvector's HNSW index, with the
 * entries of the same scope and context. Which model embedded is part of the context: vectors
 * of different models are not comparable.
 *
 * It exists only where the migration could create the table (pgvector installed); elsewhere
 * {@link available} is false and callers use their exact cache alone.
 */
export class SemanticIndex {
  private sql: SemanticCacheSql | undefined;
  private absentSince: number | undefined;
  private warnedDimensions = false;
  readonly ttlMs: number;

  constructor(private readonly options: SemanticIndexOptions) {
    this.ttlMs = options.config.responseCacheTtlMs || DEFAULT_TTL_MS;
  }

  /** Whether a text can be compared by meaning: not blank, and not too long to embed whole. */
  static comparable(text: string): boolean {
    return text.trim() !== '' && text.length <= MAX_EMBEDDED_CHARS;
  }

  /**
   * Whether the table exists. Known once found; an absence is asked again after a minute, so
   * installing pgvector and running `genloop db migrate` turns the cache on without a restart.
   */
  async available(): Promise<boolean> {
    if (this.sql) return true;
    if (this.absentSince !== undefined && Date.now() - this.absentSince < ABSENT_RECHECK_MS) {
      return false;
    }
    let schema: string | undefined;
    try {
      schema = await semanticCacheSchema(this.options.db);
    } catch (error) {
      this.options.logger.warn({ err: error }, 'semantic cache: cannot check for its table');
      return false;
    }
    if (schema === undefined) {
      this.absentSince = Date.now();
      return false;
    }
    this.sql = semanticCacheSql(schema);
    return true;
  }

  /**
   * Embeds the text and finds the nearest live entry of its scope and context. Any failure (the
   * embedding call, the budget, the database) is logged and makes a miss.
   */
  async nearest(query: SemanticQuery): Promise<SemanticMatch> {
    const miss: SemanticMatch = { nearest: undefined, within: false, embedded: undefined };
    const sql = this.sql;
    if (!sql) return miss;
    try {
      const { result, metadata } = await this.options.embeddings.embed({
        requestId: query.requestId,
        userId: query.userId,
        model: 'default',
        input: [query.text],
        dimensions: SEMANTIC_DIMENSIONS,
        simulate: query.simulate,
        signal: query.signal,
        recordedInput: {
          model: 'default',
          input: query.text,
          dimensions: SEMANTIC_DIMENSIONS,
          purpose: 'semantic_cache',
        },
      });
      const vector = result.embeddings[0];
      if (!vector || vector.length !== SEMANTIC_DIMENSIONS) {
        this.warnDimensions(metadata.selectedProvider, metadata.model, vector?.length);
        return miss;
      }
      const contextHash = sha256(
        `${query.context}\n${metadata.selectedProvider}/${metadata.model}`,
      );
      const embedded = { vector, contextHash };
      const nearest = await selectNearestAnswer(this.options.db, sql, {
        scope: query.scope,
        contextHash,
        embedding: vector,
      });
      if (!nearest) return { nearest: undefined, within: false, embedded };
      const distance = Math.max(0, Number(nearest.distance));
      return {
        nearest: { ...nearest, distance },
        within: distance <= this.options.config.semanticCacheDistance,
        embedded,
      };
    } catch (error) {
      this.options.logger.warn({ err: error }, 'semantic cache lookup failed; treated as a miss');
      return miss;
    }
  }

  /** Stores an answer under the embedding its lookup made; a failed write is only logged. */
  async store(
    embedded: Embedded,
    entry: {
      scope: string;
      requestHash: string;
      provider: string;
      model: string | null;
      response: unknown;
    },
  ): Promise<void> {
    const sql = this.sql;
    if (!sql) return;
    await upsertSemanticAnswer(this.options.db, sql, {
      ...entry,
      contextHash: embedded.contextHash,
      embedding: embedded.vector,
      ttlMs: this.ttlMs,
    }).catch((error) => this.options.logger.warn({ err: error }, 'semantic cache write failed'));
  }

  private warnDimensions(provider: string | null, model: string | null, length?: number): void {
    if (this.warnedDimensions) return;
    this.warnedDimensions = true;
    this.options.logger.warn(
      { provider, model, dimensions: length },
      `semantic cache: the embedding model answered ${length ?? 'no'} dimensions for ${SEMANTIC_DIMENSIONS} asked; set GENLOOP_EMBEDDING_MODEL (or the config's metadata.embedding_model) to a model that shortens its vectors, such as text-embedding-3-small`,
    );
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
