-- Cheaper rewrites of a job's row.
--
-- The worker rewrites an ai_generations row at least twice per job (the claim, the completion)
-- and again on each heartbeat. Two per-row rules ran on every one of those rewrites although
-- neither could change its outcome there:
--
-- * The updated_at trigger called a PL/pgSQL function per row to set a column the statement
--   could set itself. Touch triggers now fire only when the statement left updated_at as it
--   was (the condition is evaluated without calling the function), and the worker's statements
--   set it. Any other update still gets its updated_at from the trigger, and so does every
--   update through Supabase's REST API: no role's column grants include updated_at.
-- * The flashcard source text rule (1 000 to 10 000 characters) was a CHECK constraint, and
--   Postgres evaluates every CHECK of a table on every new row version: two counts of ~1 500
--   characters per job for a column that never changes after the insert. It is now a trigger
--   on inserts and on updates of recipe or source_text, whose condition is the same rule; it
--   raises the same error as the constraint did (SQLSTATE 23514, constraint name
--   ai_generations_source_text_length).
--
-- And the unique key on (provider, provider_prediction_id), which exists for Replicate's
-- prediction ids, kept an entry for the null id of every other job in each row version; it now
-- covers the rows that have one. Lookups by a prediction id use it as before.

do $migration$
declare
  touched text;
begin
  foreach touched in array array[
    'ai_provider_configs', 'ai_generations', 'ai_suggestions', 'cards', 'ai_canary_runs'
  ] loop
    execute format('drop trigger %I on public.%I', touched || '_touch', touched);
    execute format(
      'create trigger %I before update on public.%I for each row '
      'when (new.updated_at is not distinct from old.updated_at) '
      'execute function public.genloop_touch_updated_at()',
      touched || '_touch', touched);
  end loop;
end
$migration$;

create or replace function public.genloop_generation_source_text_rejected() returns trigger
  language plpgsql
  set search_path = ''
  as $$
begin
  raise exception 'new row for relation "ai_generations" violates check constraint "ai_generations_source_text_length"'
    using errcode = 'check_violation',
          constraint = 'ai_generations_source_text_length',
          schema = 'public',
          table = 'ai_generations',
          detail = format('A flashcard generation''s source_text has 1000 to 10000 characters, not %s.',
                          char_length(new.source_text));
end
$$;

alter table public.ai_generations drop constraint ai_generations_source_text_length;
create trigger ai_generations_source_text_length
  before insert or update of recipe, source_text on public.ai_generations
  for each row
  when (new.recipe = 'flashcards' and char_length(new.source_text) not between 1000 and 10000)
  execute function public.genloop_generation_source_text_rejected();

revoke all on function public.genloop_generation_source_text_rejected()
  from public, anon, authenticated;
grant execute on function public.genloop_generation_source_text_rejected() to service_role;

alter table public.ai_generations drop constraint ai_generations_prediction_key;
create unique index ai_generations_prediction_key
  on public.ai_generations (provider, provider_prediction_id)
  where provider_prediction_id is not null;
