-- Phase 1 baseline of the canonical training/telemetry table.
--
-- Product databases that ran Phase 1 already have this table; `if not exists` keeps this file
-- harmless there. Phase 2 columns and the runtime contract rules follow in the next migration.

create table if not exists public.ai_training_examples (
  id uuid primary key default gen_random_uuid(),
  user_id uuid,
  source text not null default 'generation',
  prompt text,
  input jsonb,
  output jsonb,
  model text,
  metadata jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default timezone('utc', now()),
  constraint ai_training_examples_source_check
    check (source in ('generation', 'generation_cached', 'patch', 'import', 'manual', 'eval'))
);

create index if not exists ai_training_examples_user_created_idx
  on public.ai_training_examples (user_id, created_at desc);
