-- "Last N hours of generations" reads (the seed 000 verification query, per-provider hourly
-- stats over raw rows, eval export) all filter on source in ('generation',
-- 'generation_cached'). A partial covering index with exactly that predicate lets them skip the
-- per-row source test and carries only the columns they read, fixed-width ones first, so an index
-- tuple is smaller and cheaper to read: on 10M rows the verification query goes from ~57 ms to
-- ~42 ms on the benchmark machine (docs/query-performance.md).
--
-- It replaces the all-sources covering index of the rollups migration; a plain created_at index
-- stays for reads over every source (rollup rebuilds, retention deletes).
--
-- On a large live table build the new indexes by hand first (`create index concurrently if not
-- exists …` with the same definitions), so applying this file does not block writers.
create index if not exists ai_training_examples_generations_created_at_idx
  on public.ai_training_examples (created_at)
  include (latency_ms, fallback_used, selected_provider, fallback_provider)
  where source in ('generation', 'generation_cached');

create index if not exists ai_training_examples_created_at_idx
  on public.ai_training_examples (created_at);

drop index if exists public.ai_training_examples_created_at_covering_idx;
