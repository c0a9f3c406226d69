-- Indexes for the operator console's generations list: newest first, filtered by any of
-- provider, route strategy, status, fallback used, source, recipe, user and time, keyset-paged.
-- The list looks up a page's ids first and reads its rows after, so an index that carries the
-- filter columns answers the lookup by itself (an index-only scan), without reading a table row
-- per candidate.
--
-- 1. created_at: the plain index becomes one on (created_at, id) that carries the low-cardinality
--    filter columns. Any combination of filters is then a walk down this index, newest first,
--    that stops at the page's last row and never reads the table: a combination that matches
--    one row in 10 000 reads ~0.5M index entries, not ~0.5M table rows (on 10M rows, ~100 ms
--    instead of ~2 s). It serves every read the plain index served (retention deletes, rollup
--    rebuilds); on 10M rows it is ~950 MB against ~210 MB.
-- 2. recipe and source: a value that is rare or absent in a deployment (source 'eval', a recipe
--    nobody uses) must not be searched for through the whole created_at index. Provider, route
--    strategy and user have such an index already. 'generation' is most rows, so the source
--    index holds only the other sources.
-- 3. status 'failed' and fallback_used: a few per cent of the rows each, and the usual way into
--    a rare combination (failed cache hits, fallbacks of one strategy). Partial indexes that
--    carry the other filter columns bound such a search to a pass over those few per cent.
--
-- The user's index is not made covering: one user's rows are few, and the list filters them
-- row by row.
--
-- On a large live table build the indexes by hand first (`create index concurrently if not
-- exists …` with the same definitions), so applying this file does not block writers.

create index if not exists ai_training_examples_created_at_filters_idx
  on public.ai_training_examples (created_at, id)
  include (selected_provider, route_strategy, status, fallback_used, source, recipe);

drop index if exists public.ai_training_examples_created_at_idx;

create index if not exists ai_training_examples_recipe_created_at_idx
  on public.ai_training_examples (recipe, created_at desc);

create index if not exists ai_training_examples_source_created_at_idx
  on public.ai_training_examples (source, created_at desc)
  where source <> 'generation';

create index if not exists ai_training_examples_failed_created_at_idx
  on public.ai_training_examples (created_at desc, id desc)
  include (selected_provider, route_strategy, fallback_used, source, recipe, user_id)
  where status = 'failed';

create index if not exists ai_training_examples_fallback_created_at_idx
  on public.ai_training_examples (created_at desc, id desc)
  include (selected_provider, route_strategy, status, source, recipe, user_id)
  where fallback_used;
