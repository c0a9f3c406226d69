-- Provider attempts are keyed by the training row of their generation, not by request_id.
--
-- request_id is the client's to choose (a UUID `x-request-id` is kept, so that a product can
-- correlate its own logs), and a client may send the same one again: a retry of its own, a
-- fixed value, or another user's id. Under unique (request_id, attempt_no) the attempts of the
-- second generation were skipped by `on conflict do nothing` as if they were a retried write of
-- the first. training_example_id is ai_training_examples.id, which genloop mints for every
-- generation and writes in the same statement as its attempts; a retried write of the same
-- batch still skips what is already there.

alter table public.ai_provider_attempts
  add column if not exists training_example_id uuid;

comment on column public.ai_provider_attempts.training_example_id is
  'ai_training_examples.id of the generation this attempt belongs to; null only on attempts written before it existed whose request_id names no single training row';

-- Attempts written so far: attributed where their request_id names exactly one training row.
-- Where it names several, which generation an attempt belonged to was never recorded.
with single as (
  select request_id, (array_agg(id))[1] as id
    from public.ai_training_examples
   where request_id is not null
   group by request_id
  having count(*) = 1
)
update public.ai_provider_attempts a
   set training_example_id = single.id
  from single
 where a.training_example_id is null
   and a.request_id = single.request_id;

-- Every attempt written from now on has its key; the rows above that could not be attributed
-- are left as they are (not valid: existing rows are not checked).
alter table public.ai_provider_attempts
  drop constraint if exists ai_provider_attempts_training_example_required,
  add constraint ai_provider_attempts_training_example_required
    check (training_example_id is not null) not valid;

alter table public.ai_provider_attempts
  drop constraint if exists ai_provider_attempts_request_attempt_key,
  drop constraint if exists ai_provider_attempts_training_example_attempt_key,
  add constraint ai_provider_attempts_training_example_attempt_key
    unique (training_example_id, attempt_no);

-- Looking attempts up by request id (a client's correlation id) stays an index scan.
create index if not exists ai_provider_attempts_request_id_idx
  on public.ai_provider_attempts (request_id);
