-- Provider rows the product flows need beside the seed defaults: OpenRouter serves the
-- flashcard flow (seed 004) and is a fallback for text generations. Enabled, non-default,
-- weight 0, so the environment default stays the first choice for requests that name no
-- provider. Idempotent: an operator's later changes to these rows are kept.

insert into public.ai_provider_configs
  (provider, environment, enabled, is_default, weight, timeout_ms, max_retries, model, prompt_template_version, metadata)
values
  ('openrouter', 'prod', true, false, 0, 30000, 2, 'openai/gpt-4o-mini', 'site-v1', '{}'::jsonb)
on conflict (provider, environment) do nothing;
