-- Retention of raw telemetry (`genloop db prune`, docs/deploy.md "Retention").
--
-- ai_training_examples and ai_provider_attempts grow with every generation; the hourly and daily
-- rollups are the history that outlives them. Until now a DELETE of raw rows was folded into the
-- rollups like any other change (right for correcting a bad row, wrong for retention: charts
-- and provider stats over old windows would fall to zero as their rows aged out).
--
-- 1. The rollup trigger skips DELETE statements run while the transaction-local setting
--    `genloop.pruning` is 'on'. The pruner sets it with `set local` inside each batch's own
--    transaction, so it never leaks to another statement or session. Only roles that may delete
--    raw telemetry (service-only, see 20260216000000_least_privilege.sql) can use it.
-- 2. An index on ai_provider_attempts (created_at), so that attempts nobody links to any more
--    (written before training_example_id existed) are found by age without a full scan. On a
--    large live table create it by hand first (`create index concurrently if not exists ...`)
--    so this file does not block telemetry writers while it builds.

create or replace function public.genloop_training_examples_rollup() returns trigger
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  columns constant text :=
    'created_at, selected_provider, route_strategy, source, status, fallback_used, latency_ms';
  changes text;
begin
  -- Retention removes raw rows the rollups must keep counting. Unset the setting reads null, and
  -- '' once a `set local` has ended, so only an explicit 'on' skips.
  if tg_op = 'DELETE' and current_setting('genloop.pruning', true) = 'on' then
    return null;
  end if;
  changes := case tg_op
    when 'INSERT' then format('select %s, 1 as sign from new_rows', columns)
    when 'DELETE' then format('select %s, -1 as sign from old_rows', columns)
    else format(
      'select %1$s, 1 as sign from new_rows union all select %1$s, -1 as sign from old_rows',
      columns)
  end;
  execute public.genloop_rollup_apply_sql(changes);
  return null;
end
$$;

create index if not exists ai_provider_attempts_created_at_idx
  on public.ai_provider_attempts (created_at);
