-- Spend on the operator console's overview: dollars per provider and the users who spent most
-- over a window, summed from the telemetry rows' cost_usd.
--
-- The rollups carry no cost and cannot carry users (one row per user per hour would be as large
-- as the raw table for a public app), so the console sums raw rows. A partial covering index
-- holding only the rows with a known cost, and exactly the columns the sums read, makes that an
-- index-only scan of the window that never reads a table row. A day of a 10M-row, 30-day table
-- (~360 000 rows) is then about three times the 24-hour telemetry verification query (the
-- summing per user is most of it); seven days would be seven times that, so the console caps
-- spend at the last 24 hours and says so.
--
-- On a large live table build the index by hand first (`create index concurrently if not exists
-- …` with the same definition), so applying this file does not block writers.
create index if not exists ai_training_examples_cost_created_at_idx
  on public.ai_training_examples (created_at)
  include (cost_usd, selected_provider, user_id)
  where cost_usd is not null;
