-- Eval extensions: the product reports late outcome signals for its own generations
-- (`POST /api/v1/generations/:id/outcomes`, read by `genloop eval export`). The request runs as
-- the user (role authenticated, RLS), so the database itself limits the update to the owner's
-- rows and to the three outcome columns.

grant update (edit_after_generate, patch_apply_success, publish_conversion)
  on table public.ai_training_examples to authenticated;

drop policy if exists ai_training_examples_update_own_outcomes on public.ai_training_examples;
create policy ai_training_examples_update_own_outcomes on public.ai_training_examples
  for update to authenticated
  using (user_id = (select auth.uid()))
  with check (user_id = (select auth.uid()));
