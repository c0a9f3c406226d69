-- One default provider per environment, checked at the end of each statement instead of per row.
--
-- The partial unique index of the Phase 2 migration is checked row by row, so a single UPDATE
-- that moves the default from one provider to another (the P0 rollback SQL of seed 002, a
-- canary promotion) fails with a duplicate key whenever the new default's row is visited before
-- the old one's. A deferrable exclusion constraint keeps the same rule (at most one row with
-- is_default per environment) but checks it once the whole statement has run.

drop index if exists public.ai_provider_configs_one_default_per_environment;

alter table public.ai_provider_configs
  drop constraint if exists ai_provider_configs_one_default_per_environment,
  add constraint ai_provider_configs_one_default_per_environment
    exclude using btree (environment with =) where (is_default)
    deferrable initially immediate;
