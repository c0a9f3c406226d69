-- The interior-design flow of seed 003: Replicate as the image provider, and the
-- lookups its webhook path and backup poller make. Idempotent: an operator's later changes to
-- the provider row are kept.

-- Replicate serves interior renders. Enabled, non-default, weight 0: the text router never
-- picks it (it is not a text provider) and the environment default stays as it is. `model` is
-- the model every mode uses; `metadata.models` may name another one per mode, e.g.
-- {"models": {"imagine": "black-forest-labs/flux-schnell"}}. timeout_ms bounds each API call
-- (create, get, cancel), not the prediction; max_retries bounds genloop's own retries.
insert into public.ai_provider_configs
  (provider, environment, enabled, is_default, weight, timeout_ms, max_retries, model, prompt_template_version, metadata)
values
  ('replicate', 'prod', true, false, 0, 30000, 2, 'black-forest-labs/flux-dev', 'interior-v1', '{}'::jsonb)
on conflict (provider, environment) do nothing;

-- The backup poller looks at interior jobs that timed out while their prediction may still
-- finish (a late success still completes the job): few rows, found without a scan.
create index if not exists ai_generations_timed_out_predictions_idx
  on public.ai_generations (finished_at)
  where status = 'timed_out' and provider_prediction_id is not null;

-- Renders are listed per user with optional mode / style / room type filters, newest first.
create index if not exists renders_user_mode_created_idx
  on public.renders (user_id, mode, created_at desc, id desc);
