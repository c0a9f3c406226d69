-- lz4 for the large values genloop writes with every generation.
--
-- A row over about 2 kB is compressed before it is stored, value by value, largest first, with
-- the column's compression method: pglz unless the column names another. A training row of a
-- flashcard job is about 2.5 kB (the source text as its prompt, the cards as its output), so
-- every one of them goes through it, and pglz is the slow half of that: it compresses the
-- output, then works through the whole prompt only to give up on it (pglz keeps a result only
-- when it saves a quarter of the bytes, and 1.4 kB of prose often does not) and the prompt is
-- moved to the TOAST table uncompressed. lz4 keeps any saving and runs several times faster:
-- on this project's machine the worker's insert of a training row took 80 µs of Postgres CPU
-- with pglz and 65 µs with lz4, and the table with its TOAST table came out 8% smaller.
--
-- The method applies to values written from now on; rows already stored keep theirs and read
-- as before. A server built without lz4 (PGlite among them) refuses the method: the columns
-- then keep the server's default and nothing else changes.

do $migration$
declare
  target record;
begin
  for target in
    select * from (values
      ('ai_training_examples', 'prompt'),
      ('ai_training_examples', 'input'),
      ('ai_training_examples', 'output'),
      ('ai_training_examples', 'metadata'),
      ('ai_training_examples', 'error'),
      ('ai_provider_attempts', 'error'),
      ('ai_generations', 'source_text'),
      ('ai_generations', 'input'),
      ('ai_generations', 'output'),
      ('ai_generations', 'error'),
      ('ai_generations', 'ai_metadata'),
      ('ai_response_cache', 'response'),
      ('idempotency_keys', 'response_body')
    ) as columns (table_name, column_name)
  loop
    execute format('alter table public.%I alter column %I set compression lz4',
                   target.table_name, target.column_name);
  end loop;
exception
  when feature_not_supported then
    raise notice 'this server has no lz4: genloop''s large values keep the default compression';
end
$migration$;
