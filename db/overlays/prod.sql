-- Prod overlay (seed 002 §2.3): openai enabled + default, custom enabled + non-default
-- (seed 001: deterministic defaults). custom starts at weight 0; `genloop canary` moves it.
--
-- Apply with `genloop rollout apply --env prod`, which runs `genloop db migrate` first and then
-- this file in one transaction. Pasted into the Supabase SQL editor it also runs as one implicit
-- transaction (a multi-statement script without begin/commit). Idempotent: a second run changes
-- no row, so updated_at and the NOTIFY to the replicas only move when something really changed.

-- 1. Constraint-safe order: no other prod row keeps is_default before openai takes it
--    (one default per environment; a default must be enabled).
update public.ai_provider_configs
set is_default = false
where environment = 'prod'
  and is_default
  and provider <> 'openai';

-- 2. The prod rows.
insert into public.ai_provider_configs as c
  (provider, environment, enabled, is_default, weight, timeout_ms, max_retries, model,
   prompt_template_version, metadata)
values
  ('openai', 'prod', true, true, 100, 30000, 2, 'gpt-4o-mini', 'site-v1',
   '{"route_strategy": "fallback", "overlay": "prod"}'),
  ('custom', 'prod', true, false, 0, 30000, 1, 'default', 'site-v1',
   '{"overlay": "prod"}')
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
