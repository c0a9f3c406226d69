import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../src/db/migrator.ts';
import type { Db } from '../../src/db/types.ts';
import {
  createEmptyDatabase,
  createTestDatabase,
  drivers,
  type TestDatabase,
} from '../helpers/db.ts';

/**
 * Every privilege of the three Supabase roles on every object in schema public, written down
 * once. On Supabase a signed-in user reaches these tables directly through the REST API as
 * `authenticated` (and anyone as `anon`), so this table is the whole of what they can do there;
 * row-level security then narrows each grant to the user's own rows.
 *
 * Cells list privileges: `select insert update delete truncate references trigger` for tables
 * and views (`all` = all seven), a column list where the grant is per column
 * (`update(finished_at,status)`), `usage select update` for sequences (`all` = all three).
 * `rls` says whether row-level security is on. A new table, view, sequence or function without
 * a row here fails the test, and so does any privilege that differs.
 */
const RELATIONS = `
relation                       | rls | anon | authenticated                                                                       | service_role
ai_canary_checks               | on  |      |                                                                                     | all
ai_canary_checks_id_seq        | -   |      |                                                                                     | all
ai_canary_runs                 | on  |      |                                                                                     | all
ai_canary_runs_id_seq          | -   |      |                                                                                     | all
ai_eval_failed_gates_v1        | -   |      |                                                                                     | all
ai_eval_run_summary_v1         | -   |      |                                                                                     | all
ai_eval_runs                   | on  |      |                                                                                     | all
ai_eval_runs_id_seq            | -   |      |                                                                                     | all
ai_eval_samples                | on  |      |                                                                                     | all
ai_eval_samples_id_seq         | -   |      |                                                                                     | all
ai_generations                 | on  |      | select update(finished_at,status)                                                   | all
ai_provider_attempts           | on  |      |                                                                                     | all
ai_provider_attempts_id_seq    | -   |      |                                                                                     | all
ai_provider_configs            | on  |      |                                                                                     | all
ai_provider_health             | on  |      |                                                                                     | all
ai_response_cache              | on  |      |                                                                                     | all
ai_rollout_log                 | on  |      |                                                                                     | all
ai_rollout_log_id_seq          | -   |      |                                                                                     | all
ai_semantic_cache              | on  |      |                                                                                     | all
ai_semantic_cache_id_seq       | -   |      |                                                                                     | all
ai_suggestions                 | on  |      | select update(back,edited,front,status)                                             | all
ai_training_examples           | on  |      | select update(edit_after_generate,patch_apply_success,publish_conversion)           | all
ai_training_examples_daily     | on  |      |                                                                                     | all
ai_training_examples_environment_hourly | on |  |                                                                              | all
ai_training_examples_hourly    | on  |      |                                                                                     | all
ai_training_examples_user_daily | on |      |                                                                                     | all
budget_ledger                  | on  |      |                                                                                     | all
budget_ledger_id_seq           | -   |      |                                                                                     | all
budget_plans                   | on  |      |                                                                                     | all
budget_spend                   | on  |      |                                                                                     | all
budget_users                   | on  |      |                                                                                     | all
cards                          | on  |      | select insert(back,front,generation_id,id,source,suggestion_id,user_id) update(back,front) delete | all
genloop_leases                 | on  |      |                                                                                     | all
idempotency_keys               | on  |      |                                                                                     | all
rate_limits                    | on  |      |                                                                                     | all
render_variants                | on  |      | select                                                                              | all
renders                        | on  |      | select delete                                                                       | all
uploads                        | on  |      | select delete                                                                       | all
usage_ledger                   | on  |      | select                                                                              | all
webhook_events                 | on  |      |                                                                                     | all
`;

/** Who may execute each function in schema public (trigger functions included). */
const FUNCTIONS = `
function                                                                                  | anon | authenticated | service_role
genloop_eval_run_has_samples()                                                            |      |               | execute
genloop_budget_spend_apply()                                                              |      |               | execute
genloop_generation_canceled()                                                             |      |               | execute
genloop_generation_source_text_rejected()                                                 |      |               | execute
genloop_histogram_add(a bigint[], b bigint[])                                             |      |               | execute
genloop_histogram_from_buckets(buckets integer[], counts bigint[])                        |      |               | execute
genloop_histogram_percentile(histogram bigint[], fraction double precision)               |      |               | execute
genloop_histogram_sum(bigint[])                                                           |      |               | execute
genloop_latency_bucket(latency_ms integer)                                                |      |               | execute
genloop_latency_bucket_value(bucket integer)                                              |      |               | execute
genloop_notify_budgets()                                                                  |      |               | execute
genloop_notify_generation_pending()                                                       |      |               | execute
genloop_notify_provider_configs()                                                         |      |               | execute
genloop_owned_path(owner uuid, path text)                                                 |      |               | execute
genloop_provider_hourly_stats(p_from timestamp with time zone, p_to timestamp with time zone, p_sources text[]) | | | execute
genloop_provider_stats(p_from timestamp with time zone, p_to timestamp with time zone, p_sources text[]) |  |   | execute
genloop_refresh_rollups(p_from timestamp with time zone, p_to timestamp with time zone)   |      |               | execute
genloop_reserve_budget(p_user uuid, p_reservation uuid, p_amount numeric, p_now timestamp with time zone) | | | execute
genloop_rollup_apply_sql(changes text)                                                    |      |               | execute
genloop_touch_updated_at()                                                                |      |               | execute
genloop_training_examples_rollup()                                                        |      |               | execute
genloop_training_examples_rollup_inserted()                                               |      |               | execute
genloop_training_examples_rollup_sql_for_insert()                                         |      |               | execute
`;

const ROLES = ['anon', 'authenticated', 'service_role'] as const;
const TABLE_PRIVILEGES = [
  'select',
  'insert',
  'update',
  'delete',
  'truncate',
  'references',
  'trigger',
] as const;
const SEQUENCE_PRIVILEGES = ['usage', 'select', 'update'] as const;

type Row = Record<string, string>;

/** Parses one of the tables above into rows keyed by the first column. */
function parseTable(text: string): Map<string, Row> {
  const [header, ...lines] = text.trim().split('\n');
  const columns = header!.split('|').map((cell) => cell.trim());
  const rows = new Map<string, Row>();
  for (const line of lines) {
    const cells = line.split('|').map((cell) => cell.trim().replace(/\s+/g, ' '));
    const row: Row = {};
    columns.forEach((column, index) => {
      row[column] = cells[index] ?? '';
    });
    rows.set(cells[0]!, row);
  }
  return rows;
}

/** The same shape as the tables above, read from the catalog. */
async function actualRelations(db: Db): Promise<Map<string, Row>> {
  const { rows } = await db.query<{
    relation: string;
    kind: string;
    rls: boolean;
    role: string;
    privilege: string;
    whole: boolean;
    columns: string[] | null;
  }>(
    `with relations as (
       select c.oid, c.relname, c.relkind, c.relrowsecurity
         from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'public' and c.relkind in ('r', 'p', 'v', 'm', 'f', 'S')
     ),
     checks as (
       select r.relname, r.relkind, r.relrowsecurity, role.name as role, p.name as privilege,
              case when r.relkind = 'S' then has_sequence_privilege(role.name, r.oid, p.name)
                   else has_table_privilege(role.name, r.oid, p.name) end as whole,
              case when r.relkind <> 'S' and p.name in ('select', 'insert', 'update', 'references') then
                (select array_agg(a.attname::text order by a.attname)
                   from pg_attribute a
                  where a.attrelid = r.oid and a.attnum > 0 and not a.attisdropped
                    and has_column_privilege(role.name, r.oid, a.attnum, p.name))
              end as columns
         from relations r
        cross join unnest($1::text[]) as role(name)
        cross join unnest(case when r.relkind = 'S' then $3::text[] else $2::text[] end) as p(name)
     )
     select relname as relation, relkind as kind, relrowsecurity as rls, role, privilege, whole, columns
       from checks
      order by relname, role`,
    [ROLES, TABLE_PRIVILEGES, SEQUENCE_PRIVILEGES],
  );
  const cells = new Map<string, Row & { _kind: string }>();
  for (const row of rows) {
    let entry = cells.get(row.relation);
    if (!entry) {
      const isTable = row.kind === 'r' || row.kind === 'p';
      entry = {
        _kind: row.kind,
        relation: row.relation,
        rls: isTable ? (row.rls ? 'on' : 'off') : '-',
        anon: '',
        authenticated: '',
        service_role: '',
      };
      cells.set(row.relation, entry);
    }
    const granted = row.whole
      ? row.privilege
      : row.columns && row.columns.length > 0
        ? `${row.privilege}(${row.columns.join(',')})`
        : '';
    if (granted !== '') entry[row.role] = `${entry[row.role]} ${granted}`.trim();
  }
  const result = new Map<string, Row>();
  for (const [name, { _kind, ...entry }] of cells) {
    const every = _kind === 'S' ? SEQUENCE_PRIVILEGES : TABLE_PRIVILEGES;
    for (const role of ROLES) {
      if (entry[role] === every.join(' ')) entry[role] = 'all';
    }
    result.set(name, entry);
  }
  return result;
}

async function actualFunctions(db: Db): Promise<Map<string, Row>> {
  const { rows } = await db.query<{ signature: string; role: string; allowed: boolean }>(
    `select p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')' as signature,
            role.name as role, has_function_privilege(role.name, p.oid, 'execute') as allowed
       from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      cross join unnest($1::text[]) as role(name)
      where n.nspname = 'public'
      order by 1, 2`,
    [ROLES],
  );
  const result = new Map<string, Row>();
  for (const row of rows) {
    const entry = result.get(row.signature) ?? {
      function: row.signature,
      anon: '',
      authenticated: '',
      service_role: '',
    };
    if (row.allowed) entry[row.role] = 'execute';
    result.set(row.signature, entry);
  }
  return result;
}

/** Lists every difference between the written-down table and the catalog, one line each. */
function differences(expected: Map<string, Row>, actual: Map<string, Row>): string[] {
  const lines: string[] = [];
  for (const name of actual.keys()) {
    if (!expected.has(name)) lines.push(`${name}: not in the table (add a row for it)`);
  }
  for (const [name, row] of expected) {
    const found = actual.get(name);
    if (!found) {
      lines.push(`${name}: in the table but not in the database`);
      continue;
    }
    for (const [column, value] of Object.entries(row)) {
      if (found[column] !== value) {
        lines.push(`${name}.${column}: expected "${value}", the database has "${found[column]}"`);
      }
    }
  }
  return lines;
}

async function expectMatrix(db: Db): Promise<void> {
  expect(differences(parseTable(RELATIONS), await actualRelations(db))).toEqual([]);
  expect(differences(parseTable(FUNCTIONS), await actualFunctions(db))).toEqual([]);
}

describe('the grants matrix', () => {
  it('parses: every row has a cell per column, and no name twice', () => {
    for (const table of [RELATIONS, FUNCTIONS]) {
      const [header, ...lines] = table.trim().split('\n');
      const width = header!.split('|').length;
      for (const line of lines) expect(line.split('|').length, line).toBe(width);
      expect(parseTable(table).size).toBe(lines.length);
    }
  });

  it('reports a privilege that differs and an object it does not list', () => {
    const expected = parseTable(RELATIONS);
    const actual = new Map(expected);
    actual.set('cards', { ...expected.get('cards')!, anon: 'select' });
    actual.set('new_table', { relation: 'new_table', rls: 'off', anon: '', authenticated: '' });
    expect(differences(expected, actual)).toEqual([
      'new_table: not in the table (add a row for it)',
      'cards.anon: expected "", the database has "select"',
    ]);
  });
});

for (const driver of drivers) {
  describe(`grants on a migrated database [${driver}]`, () => {
    let database: TestDatabase;
    beforeAll(async () => {
      database = await createTestDatabase(driver);
    });
    afterAll(async () => {
      await database?.dispose();
    });

    it('match the matrix exactly', async () => {
      await expectMatrix(database.db);
    });
  });

  describe(`grants under Supabase's default privileges [${driver}]`, () => {
    let database: TestDatabase;
    beforeAll(async () => {
      database = await createEmptyDatabase(driver);
      // Supabase hands every new table, sequence and function in public to all three roles;
      // the migrations must take back whatever the matrix does not allow.
      await database.db.exec(`
        do $$
        begin
          if not exists (select 1 from pg_roles where rolname = 'anon') then create role anon nologin; end if;
          if not exists (select 1 from pg_roles where rolname = 'authenticated') then create role authenticated nologin; end if;
          if not exists (select 1 from pg_roles where rolname = 'service_role') then create role service_role nologin bypassrls; end if;
        end
        $$;
        alter default privileges in schema public grant all on tables to anon, authenticated, service_role;
        alter default privileges in schema public grant all on sequences to anon, authenticated, service_role;
        alter default privileges in schema public grant all on functions to anon, authenticated, service_role;
      `);
      await migrate(database.db);
    });
    afterAll(async () => {
      await database?.dispose();
    });

    it('still match the matrix exactly', async () => {
      await expectMatrix(database.db);
    });
  });
}
