-- One index on (created_at, id) for the console's generations list and the last hour of spend, in
-- place of two.
--
-- The generations list walks (created_at, id) carrying its filter columns; the spend of the last
-- hour read a partial index on created_at carrying cost_usd, selected_provider and user_id. With
-- spend over days and weeks now read from the rollups (20260218100000_console_rollup_cost.sql),
-- the spend index serves only that last hour, so the list's index carries user_id and cost_usd
-- as well and serves both: on the benchmark's 10M rows it grows from 957 to 1 185 MB while the
-- spend index (567 MB) goes, and every telemetry row is written to one index fewer, which pays
-- back part of what the new rollups cost a write. Both reads stay index-only scans of the same
-- speed (measured on 10M rows: the hour's spend rows 0.8 ms, a rare combination's walk the same).
--
-- On a large live table build the index by hand first (`create index concurrently if not exists
-- …` with the same definition), so applying this file does not block writers while it builds.
create index if not exists ai_training_examples_created_at_list_idx
  on public.ai_training_examples (created_at, id)
  include (selected_provider, route_strategy, status, fallback_used, source, recipe, user_id,
    cost_usd);

drop index if exists public.ai_training_examples_created_at_filters_idx;
drop index if exists public.ai_training_examples_cost_created_at_idx;
