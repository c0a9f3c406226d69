import type { Db } from '../../src/db/types.ts';
import { percentile, round } from '../lib/stats.ts';

const WARM_UP_MS = 500;
const WARM_UP_MAX_RUNS = 5;

export interface Timing {
  runsMs: number[];
  p50Ms: number;
  p95Ms: number;
  minMs: number;
}

/**
 * Runs `sql` to warm caches and plans (once, and again until half a second has passed, at most
 * five times: the first runs after a large query or a fresh start read pages into shared buffers
 * and are slower), then up to `runs` times more, stopping early (after at least three runs) once
 * `budgetMs` is spent. Times are client round trips on one connection.
 */
export async function timeQuery(
  db: Db,
  sql: string,
  options: { runs: number; budgetMs: number },
): Promise<Timing> {
  const warmStart = performance.now();
  for (let warm = 0; warm < WARM_UP_MAX_RUNS; warm++) {
    await db.query(sql);
    if (performance.now() - warmStart >= WARM_UP_MS) break;
  }
  const runsMs: number[] = [];
  const started = performance.now();
  while (runsMs.length < options.runs) {
    const before = performance.now();
    await db.query(sql);
    runsMs.push(round(performance.now() - before));
    if (runsMs.length >= 3 && performance.now() - started > options.budgetMs) break;
  }
  return {
    runsMs,
    p50Ms: round(percentile(runsMs, 0.5)),
    p95Ms: round(percentile(runsMs, 0.95)),
    minMs: Math.min(...runsMs),
  };
}

export interface PlanSummary {
  /** The scans the plan reads through, e.g. "Index Only Scan using x on t (heap fetches 0)". */
  keyNode: string;
  executionMs: number;
  workersLaunched: number;
}

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Function Name'?: string;
  'Heap Fetches'?: number;
  'Workers Launched'?: number;
  Plans?: PlanNode[];
}

/** EXPLAIN ANALYZE once and name the plan's scans (where the time of these queries goes). */
export async function explainPlan(db: Db, sql: string): Promise<PlanSummary> {
  const { rows } = await db.query<{ 'QUERY PLAN': [{ Plan: PlanNode; 'Execution Time': number }] }>(
    `explain (analyze, buffers, format json) ${sql.replace(/;\s*$/, '')}`,
  );
  const [explained] = rows[0]!['QUERY PLAN'];
  const scans = new Set<string>();
  let workersLaunched = 0;
  const visit = (node: PlanNode) => {
    workersLaunched = Math.max(workersLaunched, node['Workers Launched'] ?? 0);
    if (node['Node Type'].endsWith('Scan')) {
      const target = node['Relation Name'] ?? node['Function Name'] ?? '';
      const index = node['Index Name'] ? ` using ${node['Index Name']}` : '';
      const fetches =
        node['Heap Fetches'] !== undefined ? ` (heap fetches ${node['Heap Fetches']})` : '';
      scans.add(`${node['Node Type']}${index} on ${target}${fetches}`.replace(/ on $/, ''));
    }
    for (const child of node.Plans ?? []) visit(child);
  };
  visit(explained.Plan);
  return {
    keyNode: [...scans].join(' + '),
    executionMs: round(explained['Execution Time']),
    workersLaunched,
  };
}
