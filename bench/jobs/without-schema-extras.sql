-- An experiment for `npm run bench:jobs -- --template-sql bench/jobs/without-schema-extras.sql`,
-- never a migration: the job path with only what the queue itself needs.
--
-- A flashcard job writes its job row twice (claim, completion), ten suggestion rows, a training
-- row, an attempt row and a ledger entry. Besides their primary keys and the queue's own partial
-- indexes, those rows keep up indexes that the API, the console, the evals and the flashcard flow
-- read by, the suggestions' foreign key (which Supabase's REST API reads to embed a generation's
-- suggestions) and the training rows' rollups (the console's charts). This drops all of them, so
-- that a run beside one without it shows what they cost per job together: the most a change of
-- the schema could save the job path.

drop index public.ai_generations_failed_idx,
           public.ai_generations_created_at_idx,
           public.ai_generations_timed_out_predictions_idx,
           public.ai_generations_in_flight_idx,
           public.idx_ai_generations_user_created;

alter table public.ai_suggestions drop constraint ai_suggestions_generation_id_fkey;
drop index public.ai_suggestions_user_id_status_idx;

drop index public.ai_training_examples_failed_created_at_idx,
           public.ai_training_examples_source_created_at_idx,
           public.ai_training_examples_recipe_created_at_idx,
           public.ai_training_examples_environment_planned_idx,
           public.ai_training_examples_generations_created_at_idx,
           public.ai_training_examples_selected_provider_created_at_idx,
           public.ai_training_examples_generation_id_idx,
           public.ai_training_examples_route_strategy_created_at_idx,
           public.ai_training_examples_request_id_idx,
           public.ai_training_examples_user_created_idx,
           public.ai_training_examples_created_at_list_idx,
           public.ai_training_examples_fallback_created_at_idx;
drop trigger ai_training_examples_rollup_insert on public.ai_training_examples;

drop index public.ai_provider_attempts_created_at_idx,
           public.ai_provider_attempts_request_id_idx,
           public.ai_provider_attempts_provider_created_at_idx;
