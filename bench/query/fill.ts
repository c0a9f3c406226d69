import type { Db } from '../../src/db/types.ts';

/** One hour of synthetic traffic: its start and how many rows it gets. */
export interface HourSlot {
  start: Date;
  rows: number;
}

const HOUR_MS = 3_600_000;

/**
 * Spreads `rows` over the `days * 24` hours that end at `end`, with a daily traffic shape
 * (peak 15:00 UTC at ~3.4x the 03:00 trough), weekends at 70% and +-5% noise per hour.
 * Cumulative rounding makes the counts add up to exactly `rows`.
 */
export function trafficShape(rows: number, end: Date, days = 30): HourSlot[] {
  const hours = days * 24;
  const first = end.getTime() - hours * HOUR_MS;
  const weights: number[] = [];
  for (let index = 0; index < hours; index++) {
    const start = new Date(first + index * HOUR_MS);
    const hourOfDay = start.getUTCHours();
    const weekday = start.getUTCDay();
    const daily = 1 + 0.55 * Math.sin((2 * Math.PI * (hourOfDay - 9)) / 24);
    const weekly = weekday === 0 || weekday === 6 ? 0.7 : 1;
    weights.push(daily * weekly * (0.95 + 0.1 * Math.random()));
  }
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  let cumulative = 0;
  let assigned = 0;
  return weights.map((weight, index) => {
    cumulative += weight;
    const upTo = Math.round((rows * cumulative) / total);
    const slot = { start: new Date(first + index * HOUR_MS), rows: upTo - assigned };
    assigned = upTo;
    return slot;
  });
}

// One statement per chunk of hours, generated server-side. The innermost subquery draws every
// random number once per row (`offset 0` keeps the planner from duplicating the volatile
// calls into the outer expressions); the outer levels turn draws into a routed request:
//   source     88% generation, 12% generation_cached (cache hits: ~12 ms, never fall back)
//   recipe     site 50%, flashcards 30%, interior 15%, gateway 5%
//   strategy   single_provider 25%, weighted 35%, fallback 40%
//   primary    openai 70%, custom 20%, openrouter 10%; backup: openai, or custom/openrouter
//   fallback   8.5% of fallback-strategy and 6% of weighted generations (~5% of all rows);
//              the row then selects the backup and carries the failed primary's latency
//   status     2% of generations fail (15% of those that fell back)
//   latency    lognormal per provider (median openai 1.8 s, custom 1.1 s, openrouter 2.6 s)
//              times a recipe factor; half of the failures are 30 s timeouts; 0.3% unknown
//   environment prod 90%, staging 10% (one database serving both, as the single_db overlay does)
// fallback_provider follows the router: the provider fallen back to, else the first backup.
const FILL_SQL = `
insert into public.ai_training_examples (
  user_id, source, recipe, status, prompt, model, request_id, generation_id, requested_provider,
  selected_provider, route_strategy, fallback_provider, fallback_used, latency_ms,
  prompt_template_version, tokens_input, tokens_output, cost_usd, schema_valid, environment,
  created_at
)
select
  md5('user-' || floor(f.u_user * f.u_user * 50000)::integer)::uuid,
  f.source,
  f.recipe,
  f.status,
  (array[
    'A landing page for a neighbourhood bakery with online pre-orders',
    'Portfolio site for a freelance architect, minimal, three project case studies',
    'Flashcards: the causes of the French Revolution, 12 cards',
    'Redesign this living room in japandi style, keep the window and the sofa',
    'Pricing page for a B2B invoicing tool with three tiers and an FAQ',
    'Flashcards: Spanish irregular verbs in the preterite',
    'Event page for a two-day climate tech meetup in Lisbon',
    'Summarise this support ticket and suggest a reply'
  ])[1 + floor(f.u_prompt * 8)::integer],
  case f.selected_provider
    when 'openai' then 'gpt-4o-mini'
    when 'custom' then 'sitecraft-ft-2'
    else 'meta-llama/llama-3.1-70b-instruct'
  end,
  gen_random_uuid(),
  case when f.recipe in ('flashcards', 'interior') then gen_random_uuid() end,
  case when f.u_requested < 0.1 then f.primary_provider end,
  f.selected_provider,
  f.route_strategy,
  f.backup_provider,
  f.fell_back,
  case
    when f.u_latency_null < 0.003 then null
    when f.source = 'generation_cached' then round(exp(ln(12) + 0.5 * f.z1))
    when f.status = 'failed' and f.u_timeout < 0.5 then 30000 + round(abs(f.z2) * 400)
    when f.status = 'failed' then round(exp(ln(700) + 0.8 * f.z1))
    else least(
      round(
        exp(
          case f.selected_provider when 'openai' then ln(1800) + 0.5 * f.z1
                                   when 'custom' then ln(1100) + 0.6 * f.z1
                                   else ln(2600) + 0.55 * f.z1 end
        ) * case f.recipe when 'flashcards' then 0.6 when 'interior' then 4 when 'gateway' then 0.8
                          else 1 end
        + case when f.fell_back then exp(ln(3500) + 0.7 * f.z2) else 0 end
      ),
      3600000
    )
  end::integer,
  f.recipe || '-v' || case when f.u_version < 0.8 then '2' else '1' end,
  300 + floor(f.u_tokens_in * 2200)::integer,
  case when f.status = 'succeeded' then 200 + floor(f.u_tokens_out * 3000)::integer end,
  case
    when f.source = 'generation_cached' or f.status = 'failed' then 0
    when f.selected_provider = 'openai'
      then round((((300 + f.u_tokens_in * 2200) * 0.15 + (200 + f.u_tokens_out * 3000) * 0.6) / 1e6)::numeric, 6)
    when f.selected_provider = 'openrouter'
      then round((((300 + f.u_tokens_in * 2200) * 0.35 + (200 + f.u_tokens_out * 3000) * 0.4) / 1e6)::numeric, 6)
    else 0
  end,
  case when f.recipe = 'site' and f.status = 'succeeded' then f.u_valid < 0.97 end,
  case when f.u_environment < 0.9 then 'prod' else 'staging' end,
  f.created_at
from (
  select
    c.*,
    case when c.fell_back then c.backup_provider else c.primary_provider end as selected_provider,
    case
      when c.source = 'generation' and c.u_fail < (case when c.fell_back then 0.15 else 0.02 end)
        then 'failed'
      else 'succeeded'
    end as status
  from (
    select
      b.*,
      case
        when b.route_strategy = 'single_provider' then null
        when b.primary_provider = 'openai'
          then case when b.u_backup < 0.7 then 'custom' else 'openrouter' end
        else 'openai'
      end as backup_provider,
      b.source = 'generation' and (
        (b.route_strategy = 'fallback' and b.u_fallback < 0.085)
        or (b.route_strategy = 'weighted' and b.u_fallback < 0.06)
      ) as fell_back
    from (
      select
        d.*,
        case when d.u_source < 0.12 then 'generation_cached' else 'generation' end as source,
        case when d.u_recipe < 0.5 then 'site' when d.u_recipe < 0.8 then 'flashcards'
             when d.u_recipe < 0.95 then 'interior' else 'gateway' end as recipe,
        case when d.u_strategy < 0.25 then 'single_provider' when d.u_strategy < 0.6 then 'weighted'
             else 'fallback' end as route_strategy,
        case when d.u_primary < 0.7 then 'openai' when d.u_primary < 0.9 then 'custom'
             else 'openrouter' end as primary_provider,
        d.radius * cos(d.angle) as z1,
        d.radius * sin(d.angle) as z2
      from (
        select
          h.hour_start + random() * interval '1 hour' as created_at,
          random() as u_user, random() as u_source, random() as u_recipe, random() as u_version,
          random() as u_strategy, random() as u_primary, random() as u_backup,
          random() as u_fallback, random() as u_fail, random() as u_timeout,
          random() as u_requested, random() as u_latency_null, random() as u_prompt,
          random() as u_tokens_in, random() as u_tokens_out, random() as u_valid,
          random() as u_environment,
          sqrt(-2 * ln(1 - random())) as radius,
          2 * pi() * random() as angle
        from unnest($1::timestamptz[], $2::integer[]) as h(hour_start, n),
             generate_series(1, h.n)
        offset 0
      ) d
    ) b
  ) c
) f`;

export interface FillTimings {
  insertMs: number;
  indexMs: number;
  vacuumMs: number;
}

/**
 * Empties ai_training_examples and its rollups, then loads `rows` rows for the 30 days ending
 * now, one statement per `hoursPerChunk` hours (`jobs` statements at a time, on a pool of at
 * least that many connections). Indexes are dropped for the load and rebuilt after it (the
 * usual bulk-load practice); the rollup triggers stay on, so the rollups are built by the same
 * path as live writes. Then the table is vacuumed and analysed so that index-only scans and the
 * planner see a settled table, as they would on a live table after autovacuum.
 */
export async function fillTrainingExamples(
  db: Db,
  rows: number,
  options: {
    hoursPerChunk?: number;
    jobs?: number;
    onProgress?: (done: number, total: number) => void;
  } = {},
): Promise<FillTimings> {
  const hoursPerChunk = options.hoursPerChunk ?? 24;
  await db.query(
    'truncate public.ai_training_examples, public.ai_training_examples_hourly, public.ai_training_examples_daily',
  );
  const indexes = await dropIndexes(db);

  const started = performance.now();
  const end = new Date(Math.floor(Date.now() / 60_000) * 60_000);
  const slots = trafficShape(rows, end);
  const chunks: HourSlot[][] = [];
  for (let offset = 0; offset < slots.length; offset += hoursPerChunk) {
    chunks.push(slots.slice(offset, offset + hoursPerChunk));
  }
  let next = 0;
  let done = 0;
  const worker = async () => {
    for (let chunk = chunks[next++]; chunk; chunk = chunks[next++]) {
      await db.query(FILL_SQL, [chunk.map((slot) => slot.start), chunk.map((slot) => slot.rows)]);
      done += chunk.reduce((sum, slot) => sum + slot.rows, 0);
      options.onProgress?.(done, rows);
    }
  };
  await Promise.all(Array.from({ length: options.jobs ?? 2 }, worker));
  const insertMs = performance.now() - started;

  const indexStarted = performance.now();
  for (const statement of indexes) await db.query(statement);
  const indexMs = performance.now() - indexStarted;

  const vacuumStarted = performance.now();
  await db.query('vacuum (analyze) public.ai_training_examples');
  await db.query('vacuum (analyze) public.ai_training_examples_hourly');
  await db.query('vacuum (analyze) public.ai_training_examples_daily');
  const vacuumMs = performance.now() - vacuumStarted;
  return { insertMs, indexMs, vacuumMs };
}

/** Drops every index of ai_training_examples; returns the statements that recreate them. */
async function dropIndexes(db: Db): Promise<string[]> {
  const { rows } = await db.query<{
    name: string;
    definition: string;
    constraint_name: string | null;
    constraint_definition: string | null;
  }>(
    `select i.indexrelid::regclass::text as name,
            pg_get_indexdef(i.indexrelid) as definition,
            c.conname as constraint_name,
            pg_get_constraintdef(c.oid) as constraint_definition
       from pg_index i
       left join pg_constraint c on c.conindid = i.indexrelid and c.conrelid = i.indrelid
      where i.indrelid = 'public.ai_training_examples'::regclass
      order by c.conname is null, name`,
  );
  const recreate: string[] = [];
  for (const row of rows) {
    if (row.constraint_name) {
      await db.query(
        `alter table public.ai_training_examples drop constraint "${row.constraint_name}"`,
      );
      recreate.push(
        `alter table public.ai_training_examples add constraint "${row.constraint_name}" ${row.constraint_definition}`,
      );
    } else {
      await db.query(`drop index ${row.name}`);
      recreate.push(row.definition);
    }
  }
  return recreate;
}
