-- The cost of every call, and dollar budgets per user and plan.
--
-- 1. ai_provider_attempts gets cost_usd: what one provider call cost, from the provider's own
--    figure or from its token usage and the price table. Null means unknown (a model without a
--    price), never zero. Nullable without a default, so adding it rewrites nothing.
-- 2. budget_plans: a named limit in USD per day or per calendar month (UTC).
-- 3. budget_users: puts a user on a plan, or gives the user a limit of their own, which beats the
--    plan's. A user without a row here, or whose row names neither, has no limit.
-- 4. budget_ledger: what each user committed in each period, written in the style of
--    usage_ledger. Before a provider call a `reserve` of the most the call can cost (+amount);
--    after it exactly one final entry keyed `final:<reservation id>`: `settle` gives back the
--    difference between the reservation and the real cost (-(reserved - cost)), `refund` gives
--    it all back (-reserved). So sum(amount_usd) over a period is the settled spend plus what
--    calls in flight may still spend, and a reservation is only written when that sum plus the
--    new amount stays within the limit (checked under a per-user transaction lock).
-- 5. A trigger NOTIFYs `genloop_budgets` when a plan or a user's budget changes, so every process
--    can cache "no budgets exist" and pay nothing for budgets until one is set.

-- 1.
alter table public.ai_provider_attempts add column if not exists cost_usd numeric(18, 10);
alter table public.ai_provider_attempts drop constraint if exists ai_provider_attempts_cost_usd_check;
alter table public.ai_provider_attempts
  add constraint ai_provider_attempts_cost_usd_check check (cost_usd >= 0);

-- 2.
create table if not exists public.budget_plans (
  name text primary key,
  limit_usd numeric(16, 8) not null,
  period text not null,
  created_at timestamptz not null default timezone('utc', now()),
  updated_at timestamptz not null default timezone('utc', now()),
  constraint budget_plans_name_check check (name ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
  constraint budget_plans_limit_check check (limit_usd >= 0 and limit_usd <= 1000000),
  constraint budget_plans_period_check check (period in ('day', 'month'))
);

-- 3.
create table if not exists public.budget_users (
  user_id uuid primary key,
  plan text references public.budget_plans (name) on update cascade on delete set null,
  limit_usd numeric(16, 8),
  period text,
  updated_at timestamptz not null default timezone('utc', now()),
  constraint budget_users_limit_check check (limit_usd >= 0 and limit_usd <= 1000000),
  constraint budget_users_period_check check (period in ('day', 'month')),
  constraint budget_users_override_check check ((limit_usd is null) = (period is null))
);

create index if not exists budget_users_plan_idx on public.budget_users (plan) where plan is not null;

-- 4.
create table if not exists public.budget_ledger (
  id bigint generated always as identity primary key,
  user_id uuid not null,
  reservation_id uuid not null,
  kind text not null,
  amount_usd numeric(18, 10) not null,
  -- The real cost of a settled call; null on reserve and refund, and on a settle whose cost is
  -- unknown (then the reservation is kept as spent).
  cost_usd numeric(18, 10),
  period_start timestamptz not null,
  idempotency_key text not null,
  metadata jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default timezone('utc', now()),
  constraint budget_ledger_kind_check check (kind in ('reserve', 'settle', 'refund')),
  constraint budget_ledger_idempotency_key_key unique (idempotency_key)
);

create index if not exists budget_ledger_user_period_idx
  on public.budget_ledger (user_id, period_start) include (amount_usd);

do $$
declare
  t text;
begin
  foreach t in array array['budget_plans', 'budget_users', 'budget_ledger'] loop
    execute format('alter table public.%I enable row level security', t);
    execute format('revoke all on table public.%I from anon, authenticated', t);
    execute format('grant all on table public.%I to service_role', t);
  end loop;
end
$$;
revoke all on sequence public.budget_ledger_id_seq from anon, authenticated;
grant all on sequence public.budget_ledger_id_seq to service_role;

-- 5.
create or replace function public.genloop_notify_budgets() returns trigger
language plpgsql
as $$
begin
  perform pg_notify('genloop_budgets', '');
  return null;
end
$$;
revoke all on function public.genloop_notify_budgets() from public, anon, authenticated;
grant execute on function public.genloop_notify_budgets() to service_role;

drop trigger if exists budget_plans_notify on public.budget_plans;
create trigger budget_plans_notify
  after insert or update or delete on public.budget_plans
  for each statement execute function public.genloop_notify_budgets();

drop trigger if exists budget_users_notify on public.budget_users;
create trigger budget_users_notify
  after insert or update or delete on public.budget_users
  for each statement execute function public.genloop_notify_budgets();
