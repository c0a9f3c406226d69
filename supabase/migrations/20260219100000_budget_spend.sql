-- Budgets at the cost of one statement per call.
--
-- A reservation used to sum the user's budget_ledger entries of the period under a per-user
-- lock, in a transaction of four round trips: the sum grew with every call the user made that
-- day or month, and every statement was planned again. Two changes make it constant:
--
-- 1. budget_spend: per user and period, the sums the ledger adds up to (committed_usd =
--    sum(amount_usd), settled_cost_usd = sum(cost_usd) of the settlements), kept by a trigger on
--    budget_ledger. Every writer of the ledger (reservations and their growth for paid retries,
--    settlements, refunds, reaped jobs, late charges, retried jobs) keeps it right without
--    knowing of it. The ledger stays the record of what happened; budget_spend is its running
--    total. Its row of a (user, period) is locked by the statement that changes it until that
--    transaction ends, so writers that change several users' rows in one statement do it in
--    user order (see the ledger statements in genloop's source), never in two orders at once.
-- 2. genloop_reserve_budget(): the reservation as one call (lock, read the total, write the
--    entry), planned once per connection, one round trip and one commit.

create table if not exists public.budget_spend (
  user_id uuid not null,
  period_start timestamptz not null,
  committed_usd numeric(18, 10) not null default 0,
  settled_cost_usd numeric(18, 10) not null default 0,
  primary key (user_id, period_start)
);

alter table public.budget_spend enable row level security;
revoke all on table public.budget_spend from anon, authenticated;
grant all on table public.budget_spend to service_role;

create or replace function public.genloop_budget_spend_apply() returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
  if tg_op in ('UPDATE', 'DELETE') then
    update public.budget_spend s
       set committed_usd = s.committed_usd - old.amount_usd,
           settled_cost_usd = s.settled_cost_usd
             - case when old.kind = 'settle' then coalesce(old.cost_usd, 0) else 0 end
     where s.user_id = old.user_id and s.period_start = old.period_start;
  end if;
  if tg_op in ('INSERT', 'UPDATE') then
    insert into public.budget_spend as s (user_id, period_start, committed_usd, settled_cost_usd)
    values (new.user_id, new.period_start, new.amount_usd,
            case when new.kind = 'settle' then coalesce(new.cost_usd, 0) else 0 end)
    on conflict (user_id, period_start) do update
      set committed_usd = s.committed_usd + excluded.committed_usd,
          settled_cost_usd = s.settled_cost_usd + excluded.settled_cost_usd;
  end if;
  return null;
end
$$;
revoke all on function public.genloop_budget_spend_apply() from public, anon, authenticated;
grant execute on function public.genloop_budget_spend_apply() to service_role;

-- Writers wait while the running totals are built from the ledger, so none is missed.
lock table public.budget_ledger in share row exclusive mode;

insert into public.budget_spend (user_id, period_start, committed_usd, settled_cost_usd)
select user_id, period_start, sum(amount_usd),
       coalesce(sum(cost_usd) filter (where kind = 'settle'), 0)
  from public.budget_ledger
 group by user_id, period_start
on conflict (user_id, period_start) do update
  set committed_usd = excluded.committed_usd, settled_cost_usd = excluded.settled_cost_usd;

drop trigger if exists budget_ledger_spend on public.budget_ledger;
-- A re-keying (a retried job's entries) changes none of these columns and costs nothing.
create trigger budget_ledger_spend
  after insert or delete or update of user_id, period_start, kind, amount_usd, cost_usd
  on public.budget_ledger
  for each row execute function public.genloop_budget_spend_apply();

-- The reservation, in one call. Outcome 'unlimited' (no budget applies: nothing written),
-- 'reserved' (written now, or by an earlier call with the same reservation id) or 'refused'
-- (the period's committed total plus p_amount would pass the limit: nothing written). Under the
-- per-user transaction lock every reservation of the user takes, so concurrent reservations are
-- decided one after the other, each reading the total after the ones before it committed (every
-- statement of a volatile function reads with a snapshot of its own). Called inside a larger
-- transaction (a job's submission) the lock and the entry last until that one ends.
create or replace function public.genloop_reserve_budget(
  p_user uuid,
  p_reservation uuid,
  p_amount numeric,
  p_now timestamptz
)
returns table (
  outcome text,
  limit_usd numeric,
  committed_usd numeric,
  period_start timestamptz,
  resets_at timestamptz
)
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_limit numeric;
  v_period text;
  v_start timestamptz;
  v_resets timestamptz;
  v_committed numeric;
begin
  perform pg_advisory_xact_lock(hashtextextended('genloop.budget:' || p_user::text, 0));
  select case when u.limit_usd is not null then u.limit_usd else p.limit_usd end,
         case when u.limit_usd is not null then u.period else p.period end
    into v_limit, v_period
    from public.budget_users u
    left join public.budget_plans p on p.name = u.plan
   where u.user_id = p_user and (u.limit_usd is not null or p.name is not null);
  if not found then
    return query select 'unlimited'::text, null::numeric, null::numeric, null::timestamptz,
                        null::timestamptz;
    return;
  end if;
  v_start := date_trunc(v_period, p_now, 'UTC');
  v_resets := v_start + case when v_period = 'day' then interval '1 day' else interval '1 month' end;
  select s.committed_usd into v_committed
    from public.budget_spend s
   where s.user_id = p_user and s.period_start = v_start;
  v_committed := coalesce(v_committed, 0);
  if exists (select 1 from public.budget_ledger l
              where l.idempotency_key = 'reserve:' || p_reservation::text) then
    return query select 'reserved'::text, v_limit, v_committed, v_start, v_resets;
    return;
  end if;
  if v_committed + p_amount > v_limit then
    return query select 'refused'::text, v_limit, v_committed, v_start, v_resets;
    return;
  end if;
  insert into public.budget_ledger
    (user_id, reservation_id, kind, amount_usd, period_start, idempotency_key)
  values (p_user, p_reservation, 'reserve', p_amount, v_start, 'reserve:' || p_reservation::text);
  return query select 'reserved'::text, v_limit, v_committed + p_amount, v_start, v_resets;
end
$$;
revoke all on function public.genloop_reserve_budget(uuid, uuid, numeric, timestamptz)
  from public, anon, authenticated;
grant execute on function public.genloop_reserve_budget(uuid, uuid, numeric, timestamptz)
  to service_role;
