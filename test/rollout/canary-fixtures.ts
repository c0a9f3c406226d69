import { randomUUID } from 'node:crypto';
import type { Db, Queryable } from '../../src/db/types.ts';
import { CanaryController } from '../../src/rollout/canary/controller.ts';
import type { CanaryEvent } from '../../src/rollout/canary/events.ts';
import { CANARY_DEFAULTS, type CanarySettings } from '../../src/rollout/canary/settings.ts';
import { type CanaryState, selectRun } from '../../src/rollout/canary/sql.ts';
import { insertTrainingExamples, type TrainingExampleRow } from '../../src/sql/insert-telemetry.ts';
import type { Stack } from '../helpers/stack.ts';

/** Settings for tests: the policy's guardrails with intervals and samples of a test's size. */
export function testSettings(overrides: Partial<CanarySettings> = {}): CanarySettings {
  return {
    ...CANARY_DEFAULTS,
    steps: [50, 100],
    intervalMs: 1_000,
    minSamples: 5,
    ...overrides,
  };
}

/**
 * generate-site traffic through the stack's own app (auth, routing, simulator, telemetry), a few
 * requests at a time until stopped. `headers(n)` and `body(n)` shape request number n.
 */
export class SiteTraffic {
  sent = 0;
  readonly statuses = new Map<number, number>();
  #running = false;
  #loops: Promise<void>[] = [];

  constructor(
    private readonly stack: Stack,
    private readonly options: {
      concurrency?: number;
      headers?: (n: number) => Record<string, string>;
      body?: (n: number) => Record<string, unknown>;
    } = {},
  ) {}

  async start(): Promise<void> {
    const token = await this.stack.token();
    this.#running = true;
    this.#loops = Array.from({ length: this.options.concurrency ?? 3 }, async () => {
      while (this.#running) {
        const n = this.sent++;
        const response = await this.stack.app.request('/functions/v1/generate-site', {
          method: 'POST',
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'application/json',
            ...this.options.headers?.(n),
          },
          body: JSON.stringify(this.options.body?.(n) ?? { prompt: `A bakery, request ${n}` }),
        });
        await response.arrayBuffer();
        this.statuses.set(response.status, (this.statuses.get(response.status) ?? 0) + 1);
        // Let the controller's transactions in between requests (PGlite runs one at a time).
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    });
  }

  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#loops);
    await this.stack.services.telemetry.flush();
  }
}

/**
 * Runs a controller with short ticks and lease until the run leaves `progressing`, and returns
 * the state it ended in and the decisions taken on the way.
 */
export async function driveCanary(
  db: Db,
  runId: number,
  options: { timeoutMs?: number } = {},
): Promise<{ state: CanaryState; events: CanaryEvent[] }> {
  const events: CanaryEvent[] = [];
  const controller = new CanaryController({
    db,
    tickMs: 100,
    leaseMs: 1_000,
    onDecision: (event) => events.push(event),
  });
  controller.start();
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  try {
    for (;;) {
      const state = (await selectRun(db, runId))?.state;
      if (state && state !== 'progressing') return { state, events };
      if (Date.now() > deadline) throw new Error(`canary #${runId} still ${state} after timeout`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    await controller.stop();
  }
}

/** Forgets every provider's failures and cooldowns, so one test's faults stay its own. */
export async function forgetHealth(stack: Stack): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 50));
  await stack.database.db.query('delete from ai_provider_health');
  await stack.services.cooldown.refresh();
}

/** The rollout log entries of some canary runs, oldest first. */
export async function canaryLog(db: Queryable, runIds: readonly number[]) {
  const { rows } = await db.query<{
    id: number;
    action: string;
    status: string;
    operator: string;
    verification: { canary?: CanaryEvent } | null;
    saved_state: unknown;
    notes: string | null;
  }>(
    `select id, action, status, operator, verification, saved_state, notes
       from ai_rollout_log
      where (verification -> 'canary' ->> 'run_id')::bigint = any($1::bigint[])
      order by id`,
    [runIds],
  );
  return rows;
}

/**
 * First tries written straight into telemetry, as the router would have recorded them: for the
 * tests of leadership and restarts, where what is measured matters less than who measures it.
 */
export async function recordFirstTries(
  db: Queryable,
  provider: 'openai' | 'custom',
  count: number,
  outcome: { fallbackUsed?: boolean; schemaValid?: boolean | null } = {},
): Promise<void> {
  const rows: TrainingExampleRow[] = Array.from({ length: count }, () => ({
    id: randomUUID(),
    user_id: null,
    source: 'generation',
    recipe: 'site',
    generation_id: null,
    status: 'succeeded',
    prompt: 'a bakery',
    input: null,
    output: null,
    model: 'm',
    request_id: randomUUID(),
    requested_provider: null,
    selected_provider: outcome.fallbackUsed
      ? provider === 'custom'
        ? 'openai'
        : 'custom'
      : provider,
    route_strategy: 'weighted',
    fallback_provider: outcome.fallbackUsed ? (provider === 'custom' ? 'openai' : 'custom') : null,
    fallback_used: outcome.fallbackUsed ?? false,
    latency_ms: 120,
    prompt_template_version: 'site-v1',
    planned_provider: provider,
    environment: 'prod',
    error: null,
    tokens_input: null,
    tokens_output: null,
    cost_usd: null,
    schema_valid: outcome.schemaValid === undefined ? true : outcome.schemaValid,
    patch_apply_success: null,
    safety_compliant: null,
    created_at: new Date().toISOString(),
  }));
  await insertTrainingExamples(db, rows);
}

/** Makes a run's next check due now (instead of waiting out its interval). */
export async function makeDue(db: Queryable, runId: number): Promise<void> {
  await db.query(
    `update ai_canary_runs set next_check_at = now() - interval '1 millisecond' where id = $1`,
    [runId],
  );
}
