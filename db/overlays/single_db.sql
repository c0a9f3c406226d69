-- Single-DB overlay (seed 002 §0.2): one database serves non-prod and prod usage.
--
-- prod gets the prod overlay's rows (openai enabled + default, custom enabled + non-default).
-- Every other environment stays present but disabled and non-default, so the §0.3 checks hold:
-- prod_default_count = 1 and non_prod_enabled_count = 0. The staging rows are kept (disabled,
-- with their staging settings) so a later move to a separate staging database starts from them.
--
-- Apply with `genloop rollout apply --env single_db`, which runs `genloop db migrate` first and
-- then this file in one transaction. Pasted into the Supabase SQL editor it also runs as one
-- implicit transaction (a multi-statement script without begin/commit). Idempotent: a second run
-- changes no row, so updated_at and the NOTIFY to the replicas only move when something changed.

-- 1. Non-prod: drop the default and disable in one statement (a default must be enabled, so the
--    two go together), before anything else touches these rows.
update public.ai_provider_configs
set is_default = false,
    enabled = false
where environment <> 'prod'
  and (enabled or is_default);

-- 2. Prod, constraint-safe order: no other prod row keeps is_default before openai takes it.
update public.ai_provider_configs
set is_default = false
where environment = 'prod'
  and is_default
  and provider <> 'openai';

-- 3. The prod rows (enabled) and the staging rows (present, disabled, non-default).
insert into public.ai_provider_configs as c
  (provider, environment, enabled, is_default, weight, timeout_ms, max_retries, model,
   prompt_template_version, metadata)
values
  ('openai', 'prod', true, true, 100, 30000, 2, 'gpt-4o-mini', 'site-v1',
   '{"route_strategy": "fallback", "overlay": "single_db"}'),
  ('custom', 'prod', true, false, 0, 30000, 1, 'default', 'site-v1',
   '{"overlay": "single_db"}'),
  ('openai', 'staging', false, false, 100, 20000, 1, 'gpt-4o-mini', 'site-v1',
   '{"route_strategy": "fallback", "overlay": "single_db"}'),
  ('custom', 'staging', false, false, 0, 20000, 1, 'default', 'site-v1',
   '{"overlay": "single_db"}')
on conflict (provider, environment) do update set
  enabled = excluded.enabled,
  is_default = excluded.is_default,
  weight = excluded.weight,
  timeout_ms = excluded.timeout_ms,
  max_retries = excluded.max_retries,
  model = excluded.model,
  prompt_template_version = excluded.prompt_template_version,
  metadata = c.metadata || excluded.metadata
where (c.enabled, c.is_default, c.weight, c.timeout_ms, c.max_retries, c.model,
       c.prompt_template_version, c.metadata)
  is distinct from
      (excluded.enabled, excluded.is_default, excluded.weight, excluded.timeout_ms,
       excluded.max_retries, excluded.model, excluded.prompt_template_version,
       c.metadata || excluded.metadata);
