-- The rollups of an insert into ai_training_examples with a plan kept per connection.
--
-- The statement-level trigger builds the statement that folds a telemetry statement's rows into
-- the rollups as text and runs it with EXECUTE, which plans it again on every call: about 1 ms
-- of planning for a statement whose own work, for a batch of 50 to 100 rows, is about as long.
-- Every telemetry flush and every group of completed jobs is an insert, so inserts get a
-- trigger function of their own whose body is that same statement written out over `new_rows`:
-- PL/pgSQL plans it once per connection and reuses the plan. Updates and deletes (outcome
-- feedback, retention) are rare and keep the general function.
--
-- The body is generated here from genloop_rollup_apply_sql, the one definition of the rollup
-- statement, so the two cannot differ. A later migration that changes genloop_rollup_apply_sql
-- regenerates this function the same way (genloop's rollup tests compare the two).

create or replace function public.genloop_training_examples_rollup_sql_for_insert() returns text
  language sql stable
  set search_path = ''
  as $$
    select 'begin ' || public.genloop_rollup_apply_sql(
      'select created_at, selected_provider, route_strategy, source, status, fallback_used, '
      || 'latency_ms, cost_usd, user_id, environment, 1 as sign from new_rows')
      || '; return null; end'
  $$;

do $migration$
begin
  execute format(
    $ddl$
      create or replace function public.genloop_training_examples_rollup_inserted()
        returns trigger
        language plpgsql
        security definer
        set search_path = ''
        as %L
    $ddl$,
    public.genloop_training_examples_rollup_sql_for_insert());
end
$migration$;

drop trigger if exists ai_training_examples_rollup_insert on public.ai_training_examples;
create trigger ai_training_examples_rollup_insert
  after insert on public.ai_training_examples
  referencing new table as new_rows
  for each statement execute function public.genloop_training_examples_rollup_inserted();

revoke all on function
  public.genloop_training_examples_rollup_sql_for_insert(),
  public.genloop_training_examples_rollup_inserted()
  from public, anon, authenticated;
grant execute on function
  public.genloop_training_examples_rollup_sql_for_insert(),
  public.genloop_training_examples_rollup_inserted()
  to service_role;
