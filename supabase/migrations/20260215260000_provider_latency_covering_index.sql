-- Per-provider latency percentiles over raw telemetry (the seed 001 "P95 generation latency"
-- query: percentile_cont over latency_ms grouped by selected_provider for a time window) read
-- only this index: the seed index keeps its name and key columns and gains the three columns
-- such queries read, so they become index-only scans instead of one heap fetch per row
-- (docs/query-performance.md has the measurements).
--
-- Rebuilding the index blocks writers of ai_training_examples while it builds. On a large live
-- table, build it by hand first without blocking, then apply this file (it then does nothing):
--   create index concurrently ai_training_examples_selected_provider_created_at_covering_idx
--     on public.ai_training_examples (selected_provider, created_at desc)
--     include (latency_ms, fallback_used, source);
--   drop index concurrently public.ai_training_examples_selected_provider_created_at_idx;
--   alter index public.ai_training_examples_selected_provider_created_at_covering_idx
--     rename to ai_training_examples_selected_provider_created_at_idx;
do $$
begin
  if not exists (
    select 1
    from pg_index i
    where i.indexrelid = to_regclass('public.ai_training_examples_selected_provider_created_at_idx')
      and i.indnatts > i.indnkeyatts
  ) then
    drop index if exists public.ai_training_examples_selected_provider_created_at_idx;
    create index ai_training_examples_selected_provider_created_at_idx
      on public.ai_training_examples (selected_provider, created_at desc)
      include (latency_ms, fallback_used, source);
  end if;
end
$$;
