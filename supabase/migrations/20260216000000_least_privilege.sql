-- Least privilege for the roles Supabase's REST API runs as.
--
-- On Supabase every signed-in user can reach these tables directly with their own JWT, as the
-- `authenticated` role, without going through genloop. So the database itself must refuse what
-- genloop's API would refuse: that role reads its own rows and makes only the edits a product
-- flow needs from a browser (reviewing suggestions, editing and deleting its own cards, deleting
-- its own renders and uploads, cancelling its own unfinished job, recording outcomes of its own
-- generations). Nothing that creates work, spends, consumes a limit or names a storage path is
-- writable by it; genloop writes those as its own role after its checks.
--
-- This migration states every grant of `anon` and `authenticated` in schema public from
-- scratch: it revokes everything first, so it also undoes what Supabase's default privileges
-- hand out to new tables and functions. test/security/grants-matrix.test.ts holds the same
-- table and fails when a migration adds a table, a function or a privilege it does not list.

-- ---------------------------------------------------------------------------------------------
-- Start from nothing.
-- ---------------------------------------------------------------------------------------------
revoke all on all tables in schema public from public, anon, authenticated;
revoke all on all sequences in schema public from public, anon, authenticated;
revoke all on all functions in schema public from public, anon, authenticated;

-- Objects this role creates later are not open to everyone by default either (Postgres grants
-- EXECUTE on new functions to PUBLIC unless told otherwise).
alter default privileges in schema public revoke execute on functions from public;

-- genloop's own role keeps full access; the service role is what Supabase gives trusted servers.
grant all on all tables in schema public to service_role;
grant all on all sequences in schema public to service_role;
grant execute on all functions in schema public to service_role;

-- ---------------------------------------------------------------------------------------------
-- Jobs: read own; cancel own unfinished job. Never insert: a job queued by hand would run with
-- no rate limit, no quota reservation and no moderation.
-- ---------------------------------------------------------------------------------------------
drop policy if exists ai_generations_insert_own on public.ai_generations;
grant select on table public.ai_generations to authenticated;
grant update (status, finished_at) on table public.ai_generations to authenticated;

-- A cancel through the REST API gives the quota unit back exactly as genloop's own cancel does
-- (same ledger key, so whichever comes first counts), and its finish time is the database's.
create or replace function public.genloop_generation_canceled() returns trigger
  language plpgsql
  security definer
  set search_path = ''
  as $$
begin
  -- Inside a security definer function current_user is the owner; the caller's role is the
  -- `role` setting that PostgREST (and genloop) switch to.
  if current_setting('role', true) in ('authenticated', 'anon') then
    new.finished_at := timezone('utc', now());
  end if;
  insert into public.usage_ledger (user_id, generation_id, kind, amount, idempotency_key, metadata)
  select new.user_id, new.id, 'refund', 1, 'final:' || new.id::text,
         jsonb_build_object('reason', 'canceled')
   where exists (
     select 1 from public.usage_ledger where idempotency_key = 'reserve:' || new.id::text
   )
  on conflict (idempotency_key) do nothing;
  return new;
end
$$;
revoke all on function public.genloop_generation_canceled() from public, anon, authenticated;
grant execute on function public.genloop_generation_canceled() to service_role;

drop trigger if exists ai_generations_canceled on public.ai_generations;
create trigger ai_generations_canceled
  before update of status on public.ai_generations
  for each row
  when (new.status = 'canceled' and old.status in ('pending', 'running'))
  execute function public.genloop_generation_canceled();

-- ---------------------------------------------------------------------------------------------
-- Flashcards: suggestions are reviewed in place; cards belong to the user, and a card may point
-- only at the user's own suggestion and generation (a card on someone else's suggestion would
-- block that suggestion's accept forever).
-- ---------------------------------------------------------------------------------------------
grant select on table public.ai_suggestions to authenticated;
grant update (front, back, status, edited) on table public.ai_suggestions to authenticated;

grant select, delete on table public.cards to authenticated;
grant insert (id, user_id, front, back, source, suggestion_id, generation_id)
  on table public.cards to authenticated;
grant update (front, back) on table public.cards to authenticated;

drop policy if exists cards_insert_own on public.cards;
create policy cards_insert_own on public.cards
  for insert to authenticated
  with check (
    user_id = (select auth.uid())
    and (suggestion_id is null or exists (
      select 1 from public.ai_suggestions s
       where s.id = suggestion_id and s.user_id = (select auth.uid())
    ))
    and (generation_id is null or exists (
      select 1 from public.ai_generations g
       where g.id = generation_id and g.user_id = (select auth.uid())
    ))
  );

-- ---------------------------------------------------------------------------------------------
-- Interior: uploads and renders are created by genloop; the user may delete their own.
-- ---------------------------------------------------------------------------------------------
drop policy if exists uploads_insert_own on public.uploads;
grant select, delete on table public.uploads to authenticated;
grant select, delete on table public.renders to authenticated;
grant select on table public.render_variants to authenticated;

-- Every stored object lies under its owner's prefix `<user_id>/`, with no `..`, `.` or empty
-- segment to climb out of it: whoever writes a row, the path cannot name another user's file.
create or replace function public.genloop_owned_path(owner uuid, path text) returns boolean
  language sql
  immutable
  parallel safe
  set search_path = ''
  as $$
    select path is null or (
      starts_with(path, owner::text || '/')
      and path !~ '(^|/)\.{0,2}(/|$)'
      and path !~ '[\\[:cntrl:]]'
    )
  $$;
revoke all on function public.genloop_owned_path(uuid, text) from public, anon, authenticated;
grant execute on function public.genloop_owned_path(uuid, text) to service_role;

alter table public.uploads drop constraint if exists uploads_path_owned;
alter table public.uploads
  add constraint uploads_path_owned check (public.genloop_owned_path(user_id, path)) not valid;
alter table public.render_variants drop constraint if exists render_variants_path_owned;
alter table public.render_variants
  add constraint render_variants_path_owned
  check (public.genloop_owned_path(user_id, path) and public.genloop_owned_path(user_id, thumbnail_path))
  not valid;

-- Rows written before this check existed are validated when they all pass; a database that
-- already holds a crafted row still migrates, and says so.
do $$
begin
  alter table public.uploads validate constraint uploads_path_owned;
  alter table public.render_variants validate constraint render_variants_path_owned;
exception when check_violation then
  raise warning 'genloop: some uploads or render_variants rows name a path outside their owner''s prefix; find them with: select id, user_id, path from public.uploads where not public.genloop_owned_path(user_id, path)';
end
$$;

-- ---------------------------------------------------------------------------------------------
-- Outcomes of the user's own generations (edits, patch success, publish) feed the evals.
-- ---------------------------------------------------------------------------------------------
grant select on table public.ai_training_examples to authenticated;
grant update (edit_after_generate, patch_apply_success, publish_conversion)
  on table public.ai_training_examples to authenticated;

-- The monthly allowance: read only.
grant select on table public.usage_ledger to authenticated;
