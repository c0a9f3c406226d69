import { createRoute, OpenAPIHono } from '@hono/zod-openapi';
import { serialise } from '../../http/route-helpers.ts';
import { validationHook } from '../../http/validation.ts';
import { notFound } from '../../lib/domain-errors.ts';
import {
  ADMIN_PREFIX,
  EVAL_METRICS,
  EvalPageSchema,
  type EvalRun,
  type EvalRunDetail,
  EvalRunDetailSchema,
  EvalRunParamsSchema,
  type EvalRunSummary,
  EvalsQuerySchema,
  EvalTrendQuerySchema,
  EvalTrendSchema,
  type FailedGate,
} from '../contract.ts';
import {
  ADMIN_ERRORS,
  type AdminDeps,
  adminSecurity,
  decodeIdCursor,
  encodeIdCursor,
  pageOf,
  problem,
  rowsAs,
} from './shared.ts';
import {
  type FailedGateRow,
  selectEvalRun,
  selectEvalRuns,
  selectEvalTrend,
  selectFailedGates,
} from './sql.ts';

/** `/api/v1/admin/evals`: eval runs with their gate verdicts, one run, and metric trends. */
export function evalRoutes({ db }: AdminDeps) {
  const app = new OpenAPIHono({ defaultHook: validationHook });

  app.openapi(
    createRoute({
      method: 'get',
      path: `${ADMIN_PREFIX}/evals`,
      tags: ['admin'],
      summary: 'Eval runs from ai_eval_run_summary_v1, newest first, with their failed gates',
      security: adminSecurity,
      request: { query: EvalsQuerySchema },
      responses: {
        200: { description: 'A page', content: { 'application/json': { schema: EvalPageSchema } } },
        400: problem('The cursor or the limit is not valid'),
        ...ADMIN_ERRORS,
      },
    }),
    async (c) => {
      const { cursor, limit } = c.req.valid('query');
      const before = cursor === undefined ? undefined : decodeIdCursor(cursor);
      const { rows, last } = pageOf(await selectEvalRuns(db, { before, limit: limit + 1 }), limit);
      const gates = await selectFailedGates(
        db,
        rows.map((row) => row.run_id),
      );
      return c.json(
        {
          data: rows.map(
            (row): EvalRun => ({
              ...(serialise(row) as EvalRunSummary),
              failed_gates: gatesOf(gates, row.run_id),
            }),
          ),
          next_cursor: last ? encodeIdCursor(last.run_id) : null,
        },
        200,
      );
    },
  );

  // Declared before /evals/{run_id}, so that "trend" is not read as a run id.
  app.openapi(
    createRoute({
      method: 'get',
      path: `${ADMIN_PREFIX}/evals/trend`,
      tags: ['admin'],
      summary: 'Each metric over the latest runs, oldest first (aborted runs left out)',
      security: adminSecurity,
      request: { query: EvalTrendQuerySchema },
      responses: {
        200: {
          description: 'The trend',
          content: { 'application/json': { schema: EvalTrendSchema } },
        },
        400: problem('runs or schema_variant is not valid'),
        ...ADMIN_ERRORS,
      },
    }),
    async (c) => {
      const { runs, schema_variant: schemaVariant } = c.req.valid('query');
      const rows = await selectEvalTrend(db, { runs, schemaVariant });
      return c.json({ metrics: [...EVAL_METRICS], runs: rowsAs<EvalRunSummary>(rows) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: `${ADMIN_PREFIX}/evals/{run_id}`,
      tags: ['admin'],
      summary: 'One eval run: its summary, thresholds, report and failed gates',
      security: adminSecurity,
      request: { params: EvalRunParamsSchema },
      responses: {
        200: {
          description: 'The run',
          content: { 'application/json': { schema: EvalRunDetailSchema } },
        },
        400: problem('The run id is not a positive integer'),
        404: problem('No such run'),
        ...ADMIN_ERRORS,
      },
    }),
    async (c) => {
      const runId = Number(c.req.valid('param').run_id);
      const run = await selectEvalRun(db, runId);
      if (!run) throw notFound('eval run');
      const gates = await selectFailedGates(db, [runId]);
      const body: EvalRunDetail = {
        ...(serialise(run) as Omit<EvalRunDetail, 'failed_gates'>),
        failed_gates: gatesOf(gates, runId),
      };
      return c.json(body, 200);
    },
  );

  return app;
}

function gatesOf(rows: readonly FailedGateRow[], runId: number): FailedGate[] {
  return rows
    .filter((row) => row.run_id === runId)
    .map(({ run_id: _run, ...gate }) => gate as FailedGate);
}
