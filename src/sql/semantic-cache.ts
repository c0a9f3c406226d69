import { quoteIdent } from '../db/ident.ts';
import type { Db, Queryable } from '../db/types.ts';

/** How many dimensions the semantic cache's vectors have (the column is `vector(256)`). */
export const SEMANTIC_DIMENSIONS = 256;

/**
 * Where pgvector's type lives when the semantic cache's table exists (`extensions` unless the
 * extension was installed elsewhere before); undefined when the table does not exist, which is
 * what a migration on a server without pgvector leaves.
 */
export async function semanticCacheSchema(db: Queryable): Promise<string | undefined> {
  const { rows } = await db.query<{ schema: string | null }>(
    `select (select t.typnamespace::regnamespace::text
               from pg_attribute a join pg_type t on t.oid = a.atttypid
              where a.attrelid = to_regclass('public.ai_semantic_cache')
                and a.attname = 'embedding') as schema`,
  );
  return rows[0]?.schema ?? undefined;
}

/**
 * Creates the semantic cache where its migration could not (pgvector installed since): calls
 * `genloop.enable_semantic_cache()`, which does nothing when the table exists and reports false
 * while pgvector is missing. False as well before the migration that defines it has run.
 */
export async function enableSemanticCache(db: Queryable): Promise<boolean> {
  const { rows } = await db.query<{ enabled: boolean | null }>(
    `select case when to_regprocedure('genloop.enable_semantic_cache()') is not null
                 then genloop.enable_semantic_cache() end as enabled`,
  );
  return rows[0]?.enabled === true;
}

/** The semantic cache's queries, with pgvector's operator named by its schema. */
export interface SemanticCacheSql {
  /** The schema pgvector lives in. */
  readonly schema: string;
  nearest: string;
  upsert: string;
}

/** Builds the statements once, for the schema pgvector lives in. */
export function semanticCacheSql(schema: string): SemanticCacheSql {
  const vector = `${quoteIdent(schema)}.vector`;
  const distance = `embedding operator(${quoteIdent(schema)}.<=>) $3::${vector}`;
  return {
    schema,
    nearest: `select provider, model, response, ${distance} as distance
                from public.ai_semantic_cache
               where scope = $1 and context_hash = $2 and expires_at > now()
               order by ${distance}
               limit 1`,
    upsert: `insert into public.ai_semantic_cache
               (scope, context_hash, request_hash, embedding, provider, model, response, expires_at)
             values ($1, $2, $3, $4::${vector}, $5, $6, $7::jsonb,
                     now() + make_interval(secs => $8::double precision / 1000))
             on conflict (scope, request_hash) do update
               set context_hash = excluded.context_hash, embedding = excluded.embedding,
                   provider = excluded.provider, model = excluded.model,
                   response = excluded.response, created_at = now(),
                   expires_at = excluded.expires_at`,
  };
}

/** The nearest live answer in a scope and context, with its cosine distance. */
export interface NearestAnswer {
  provider: string;
  model: string | null;
  response: unknown;
  distance: number;
}

/** pgvector's text form of a vector. */
export function vectorLiteral(vector: readonly number[]): string {
  return `[${vector.join(',')}]`;
}

/**
 * The live entry nearest to `embedding` among those of `scope` with the same context. The HNSW
 * index is walked in exact distance order and past entries the filter drops (pgvector's
 * iterative scan), so a scope with few entries among many still finds its own; the setting
 * lasts for this transaction only. A lookup never writes: expired rows go with `db prune`.
 */
export async function selectNearestAnswer(
  db: Db,
  sql: SemanticCacheSql,
  query: { scope: string; contextHash: string; embedding: readonly number[] },
): Promise<NearestAnswer | undefined> {
  return db.transaction(async (tx) => {
    await tx.query(`select set_config('hnsw.iterative_scan', 'strict_order', true)`);
    const { rows } = await tx.query<NearestAnswer>(sql.nearest, [
      query.scope,
      query.contextHash,
      vectorLiteral(query.embedding),
    ]);
    return rows[0];
  });
}

/** Stores (or refreshes) an answer with the embedding it is found by; it lives `ttlMs`. */
export async function upsertSemanticAnswer(
  db: Queryable,
  sql: SemanticCacheSql,
  entry: {
    scope: string;
    contextHash: string;
    requestHash: string;
    embedding: readonly number[];
    provider: string;
    model: string | null;
    response: unknown;
    ttlMs: number;
  },
): Promise<void> {
  await db.query(sql.upsert, [
    entry.scope,
    entry.contextHash,
    entry.requestHash,
    vectorLiteral(entry.embedding),
    entry.provider,
    entry.model,
    JSON.stringify(entry.response),
    entry.ttlMs,
  ]);
}

/**
 * Deletes up to `batchSize` expired semantic entries, oldest expiry first, skipping rows another
 * transaction holds; 0 when the table does not exist (a server without pgvector).
 */
export async function deleteExpiredSemanticBatch(
  db: Queryable,
  batchSize: number,
): Promise<number> {
  const { rows } = await db.query<{ deleted: number }>(
    `with doomed as (
       select id from public.ai_semantic_cache
        where expires_at <= now()
        order by expires_at
        limit $1
        for update skip locked
     ),
     deleted as (
       delete from public.ai_semantic_cache c using doomed d where c.id = d.id returning 1
     )
     select count(*)::int as deleted from deleted`,
    [batchSize],
  );
  return rows[0]!.deleted;
}

/** How many semantic entries have expired; 0 when the table does not exist. */
export async function countExpiredSemanticAnswers(db: Queryable): Promise<number> {
  if ((await semanticCacheSchema(db)) === undefined) return 0;
  const { rows } = await db.query<{ expired: number }>(
    'select count(*)::int as expired from public.ai_semantic_cache where expires_at <= now()',
  );
  return rows[0]!.expired;
}

/** Deletes every expired semantic entry in batches; 0 when the table does not exist. */
export async function purgeExpiredSemanticAnswers(
  db: Queryable,
  batchSize: number,
): Promise<number> {
  if ((await semanticCacheSchema(db)) === undefined) return 0;
  let total = 0;
  for (;;) {
    const deleted = await deleteExpiredSemanticBatch(db, batchSize);
    total += deleted;
    if (deleted === 0) return total;
  }
}
