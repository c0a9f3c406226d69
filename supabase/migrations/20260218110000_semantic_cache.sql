-- The gateway's semantic response cache: answers found by the meaning of the last user message,
-- in ai_semantic_cache, with pgvector.
--
-- pgvector is optional. Supabase offers it, and genloop's embedded PGlite loads it, but a plain
-- Postgres may not have it installed, and genloop must migrate, start and serve there all the
-- same. So nothing here refers to pgvector directly: genloop.enable_semantic_cache() creates the
-- extension and the table only when the server offers `vector`, and reports false otherwise
-- (the gateway then answers semantic requests from the exact cache; see docs/cost-control.md).
-- It is idempotent: `genloop db migrate` and `genloop serve` call it again, so installing
-- pgvector later and running either one turns the semantic cache on.
--
-- The extension goes into schema `extensions` (where Supabase keeps its extensions) unless it is
-- installed elsewhere already, so its hundreds of functions stay out of schema public. The
-- column type and operator class are named with that schema, which the function looks up.
--
-- One row per cached answer:
--   scope         the caller's user id, 'api_key', or 'global' (GENLOOP_CACHE_SCOPE), as in the
--                 exact cache
--   context_hash  sha256 (hex) of everything but the last user message: routing environment,
--                 model and parameters, the earlier messages, and the embedding model. Only
--                 requests with the same context can share an answer; the lookup is exact on it.
--   request_hash  sha256 (hex) of the whole normalised request, as the exact cache keys it: the
--                 same request stored twice keeps one row.
--   embedding     the last user message's embedding, 256 dimensions, compared by cosine
--                 distance through an HNSW index.
-- Expired rows are never read (every lookup filters on expires_at) and are deleted by
-- `genloop db prune`.

create or replace function genloop.enable_semantic_cache() returns boolean
  language plpgsql
  set search_path = pg_catalog, pg_temp
as $fn$
declare
  vector_schema text;
begin
  if to_regclass('public.ai_semantic_cache') is not null then
    return true;
  end if;
  select n.nspname into vector_schema
    from pg_extension e join pg_namespace n on n.oid = e.extnamespace
   where e.extname = 'vector';
  if vector_schema is null then
    if not exists (select 1 from pg_available_extensions where name = 'vector') then
      raise notice 'genloop: pgvector is not installed on this server; the semantic cache stays off';
      return false;
    end if;
    begin
      create schema if not exists extensions;
      create extension if not exists vector with schema extensions;
    exception when insufficient_privilege then
      raise warning 'genloop: % may not create the vector extension; the semantic cache stays off until someone who may runs: create extension vector with schema extensions', current_user;
      return false;
    end;
    vector_schema := 'extensions';
  end if;
  execute 'grant usage on schema ' || quote_ident(vector_schema) || ' to service_role';
  execute format($ddl$
    create table public.ai_semantic_cache (
      id bigint generated always as identity primary key,
      scope text not null,
      context_hash text not null,
      request_hash text not null,
      embedding %1$I.vector(256) not null,
      provider text not null,
      model text,
      response jsonb not null,
      created_at timestamptz not null default timezone('utc', now()),
      expires_at timestamptz not null,
      constraint ai_semantic_cache_hashes_check check (
        context_hash ~ '^[0-9a-f]{64}$' and request_hash ~ '^[0-9a-f]{64}$'
      )
    )$ddl$, vector_schema);
  execute 'create unique index ai_semantic_cache_request_idx
             on public.ai_semantic_cache (scope, request_hash)';
  execute 'create index ai_semantic_cache_context_idx
             on public.ai_semantic_cache (scope, context_hash, expires_at)';
  execute 'create index ai_semantic_cache_expires_at_idx on public.ai_semantic_cache (expires_at)';
  execute format(
    'create index ai_semantic_cache_embedding_idx on public.ai_semantic_cache
       using hnsw (embedding %I.vector_cosine_ops)',
    vector_schema);
  execute 'alter table public.ai_semantic_cache enable row level security';
  execute 'revoke all on table public.ai_semantic_cache from anon, authenticated';
  execute 'grant all on table public.ai_semantic_cache to service_role';
  execute 'revoke all on sequence public.ai_semantic_cache_id_seq from anon, authenticated';
  execute 'grant all on sequence public.ai_semantic_cache_id_seq to service_role';
  return true;
end
$fn$;

revoke all on function genloop.enable_semantic_cache() from public;

select genloop.enable_semantic_cache();
