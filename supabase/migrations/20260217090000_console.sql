-- The operator console's admin API.
--
-- 1. An operator's edit of a provider config (weight, enabled, default) is written to the rollout
--    log in the same transaction as the edit, as its own action, so the log tells such edits
--    apart from the runbook's stages and the canary's steps.
-- 2. Two indexes keep the jobs page fast however long the queue's history grows: counts of the
--    jobs created in a recent window read an index on created_at that carries recipe and status,
--    and the failed jobs list (newest failure first, paged) reads a partial index of failed and
--    timed-out jobs only.
--
-- On a large live table build the indexes by hand first (`create index concurrently if not
-- exists …` with the same definitions), so applying this file does not block writers.

alter table public.ai_rollout_log drop constraint if exists ai_rollout_log_action_check;
alter table public.ai_rollout_log add constraint ai_rollout_log_action_check check (action in (
  'apply', 'verify', 'rollback', 'restore', 'canary_start', 'canary_step', 'canary_abort',
  'canary_complete', 'note', 'provider_update'
));

create index if not exists ai_generations_created_at_idx
  on public.ai_generations (created_at)
  include (recipe, status);

create index if not exists ai_generations_failed_idx
  on public.ai_generations (finished_at desc, id desc)
  where status in ('failed', 'timed_out');
