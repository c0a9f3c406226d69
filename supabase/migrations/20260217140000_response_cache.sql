-- The gateway's exact response cache shares ai_response_cache with generate-site's brief cache.
--
-- A gateway entry is keyed `gateway:<scope>:<request_hash>`, so a lookup stays one probe of the
-- primary key: scope is the user's id (or 'global' when GENLOOP_CACHE_SCOPE=global) and
-- request_hash the sha256 (hex) of the normalised request. Both are also kept as columns so an
-- operator can see, or delete, one user's entries without parsing keys. generate-site's rows
-- leave them null.
--
-- Expired rows are never read (every lookup filters on expires_at) and are deleted by
-- `genloop db prune` through the existing expires_at index.

alter table public.ai_response_cache add column if not exists scope text;
alter table public.ai_response_cache add column if not exists request_hash text;

alter table public.ai_response_cache drop constraint if exists ai_response_cache_scope_check;
alter table public.ai_response_cache
  add constraint ai_response_cache_scope_check check (
    (scope is null) = (request_hash is null)
    and (request_hash is null or request_hash ~ '^[0-9a-f]{64}$')
  );
