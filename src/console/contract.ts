import { z } from '@hono/zod-openapi';
import { PROVIDER_NAMES } from '../providers/types.ts';
import { CANARY_STATES } from '../rollout/canary/sql.ts';
import { ROUTE_STRATEGIES } from '../routing/types.ts';

/**
 * The admin API's requests and answers, under `/api/v1/admin`: the one description the routes
 * validate with, the OpenAPI document is generated from, and the console's browser code reads
 * its types from (`import type`). Field names are the database's, snake_case. Times are ISO
 * strings in UTC; rates are fractions between 0 and 1.
 */

// ---------------------------------------------------------------------------------------------
// Shared pieces
// ---------------------------------------------------------------------------------------------

export const ADMIN_PREFIX = '/api/v1/admin';

export const WINDOWS = ['1h', '24h', '7d'] as const;

/**
 * The job counts read the queue table itself, which has no rollup: a day of jobs is counted
 * within the console's time budget at any size, a week of a busy queue is not.
 */
export const JOB_WINDOWS = ['1h', '24h'] as const;
export const TELEMETRY_SOURCES = [
  'generation',
  'generation_cached',
  'patch',
  'import',
  'manual',
  'eval',
] as const;
export const TELEMETRY_RECIPES = ['site', 'flashcards', 'interior', 'gateway'] as const;
export const JOB_RECIPES = ['flashcards', 'interior', 'site'] as const;
export const JOB_STATUSES = [
  'pending',
  'running',
  'succeeded',
  'failed',
  'canceled',
  'timed_out',
] as const;
export const EVAL_METRICS = [
  'schema_valid_rate',
  'patch_apply_success',
  'edit_after_generate_rate',
  'publish_conversion_proxy',
  'safety_html_tailwind_compliance',
  'fallback_rate',
  'p95_latency_ms',
] as const;

const ENVIRONMENT_PATTERN = /^[a-z][a-z0-9_-]{0,31}$/;
const environmentName = z
  .string()
  .regex(
    ENVIRONMENT_PATTERN,
    'lower-case letters, digits, `_` or `-`, up to 32, starting with a letter',
  );
const ProviderName = z.enum(PROVIDER_NAMES);
const RouteStrategy = z.enum(ROUTE_STRATEGIES);
const timestamp = z.string().describe('ISO 8601, UTC');
const cursor = z
  .string()
  .optional()
  .openapi({ description: 'next_cursor of the previous page; absent for the first page' });
const limit = (fallback: number) =>
  z.coerce
    .number()
    .int()
    .min(1)
    .max(200)
    .default(fallback)
    .openapi({ description: `page size, 1 to 200 (default ${fallback})` });
const nextCursor = z
  .string()
  .nullable()
  .describe('pass as cursor for the next page; null on the last');

// ---------------------------------------------------------------------------------------------
// Overview
// ---------------------------------------------------------------------------------------------

export const OverviewQuerySchema = z.object({
  window: z.enum(WINDOWS).default('24h').openapi({ description: 'time window (default 24h)' }),
  environment: environmentName.optional().openapi({
    description: "whose provider configs and cooldowns to show (default: the server's GENLOOP_ENV)",
  }),
});

const RatesSchema = z.object({
  generations: z.number().int(),
  succeeded: z.number().int(),
  failed: z.number().int(),
  fallbacks: z.number().int(),
  success_rate: z.number().nullable().describe('succeeded / generations; null with no generations'),
  fallback_rate: z.number().nullable().describe('fallbacks / generations'),
  p95_latency_ms: z.number().nullable(),
});

export const OverviewPointSchema = RatesSchema.extend({ bucket_start: timestamp });

export const OverviewSeriesSchema = z.object({
  provider: z
    .string()
    .nullable()
    .describe('selected_provider; null for generations no provider answered'),
  points: z.array(OverviewPointSchema).describe('buckets with generations, oldest first'),
});

export const CachePointSchema = z.object({
  bucket_start: timestamp,
  generations: z.number().int(),
  cached: z.number().int().describe('generations the response cache answered'),
  hit_rate: z.number().nullable().describe('cached / generations; null with no generations'),
});

export const CacheSchema = z
  .object({
    environment: z.string().describe('the environment asked for'),
    generations: z
      .number()
      .int()
      .describe('generations (sources generation and generation_cached) of this environment'),
    cached: z.number().int(),
    hit_rate: z.number().nullable().describe('cached / generations; null with no generations'),
    points: z.array(CachePointSchema).describe('buckets with generations, oldest first'),
  })
  .describe(
    "The response cache's hit rate in the environment asked for (cache entries are per environment). Rows written before telemetry recorded an environment count in none.",
  )
  .openapi('AdminCacheHitRate');

export const ProviderCooldownSchema = z.object({
  provider: ProviderName,
  cooling_down: z.boolean(),
  cooldown_until: timestamp.nullable(),
  consecutive_failures: z.number().int(),
  last_error_class: z.string().nullable(),
});

export const JobSchema = z
  .object({
    id: z.string().uuid(),
    user_id: z.string().uuid(),
    recipe: z.enum(JOB_RECIPES),
    status: z.enum(JOB_STATUSES),
    attempts: z.number().int(),
    max_attempts: z.number().int(),
    provider: z.string().nullable(),
    model: z.string().nullable(),
    prompt_version: z.string().nullable(),
    mode: z.string().nullable(),
    request_id: z.string().uuid().nullable(),
    error: z.unknown().nullable(),
    tokens_input: z.number().int().nullable(),
    tokens_output: z.number().int().nullable(),
    cost_usd: z.number().nullable(),
    run_after: timestamp,
    lease_until: timestamp.nullable(),
    created_at: timestamp,
    updated_at: timestamp,
    started_at: timestamp.nullable(),
    finished_at: timestamp.nullable(),
  })
  .openapi('AdminJob');

export const EvalRunSummarySchema = z
  .object({
    run_id: z.number().int(),
    run_type: z.string(),
    schema_variant: z.string(),
    status: z
      .enum(['running', 'passed', 'failed', 'aborted'])
      .describe("the run's gate verdict: passed or failed once finished"),
    triggered_by: z.string().nullable(),
    started_at: timestamp,
    finished_at: timestamp.nullable(),
    sample_count: z.number().int(),
    schema_valid_rate: z.number().nullable(),
    patch_apply_success: z.number().nullable(),
    edit_after_generate_rate: z.number().nullable(),
    publish_conversion_proxy: z.number().nullable(),
    safety_html_tailwind_compliance: z.number().nullable(),
    fallback_rate: z.number().nullable(),
    p95_latency_ms: z.number().nullable(),
  })
  .openapi('AdminEvalRunSummary');

export const FailedGateSchema = z
  .object({
    gate: z.string().describe('threshold name, e.g. schema_valid_rate_min'),
    metric: z.enum(EVAL_METRICS),
    threshold: z.number().nullable(),
    value: z.number().nullable().describe('null when the run has no value for the metric'),
  })
  .openapi('AdminFailedGate');

export const EvalRunWithGatesSchema = EvalRunSummarySchema.extend({
  failed_gates: z.array(FailedGateSchema),
}).openapi('AdminEvalRun');

export const OverviewSchema = z
  .object({
    window: z.enum(WINDOWS),
    environment: z.string(),
    bucket: z.enum(['minute', 'hour']),
    from: timestamp.describe('start of the first bucket'),
    to: timestamp,
    read_from: z
      .enum(['raw', 'rollup'])
      .describe('1h reads the telemetry rows of the last hour; 24h and 7d read the hourly rollup'),
    series: z
      .array(OverviewSeriesSchema)
      .describe(
        'Per provider. The series and totals count every generation (sources generation and generation_cached) recorded in this database, whatever environment served it; `environment` selects the provider cooldowns and the cache hit rate shown.',
      ),
    totals: RatesSchema.extend({
      by_provider: z.array(RatesSchema.extend({ provider: z.string().nullable() })),
    }),
    providers: z
      .array(ProviderCooldownSchema)
      .describe("cooldown state of the environment's configured providers"),
    jobs: z.object({
      waiting: z.number().int().describe('pending jobs'),
      running: z.number().int(),
      oldest_waiting: JobSchema.nullable(),
    }),
    latest_eval: EvalRunWithGatesSchema.nullable(),
    cache: CacheSchema,
  })
  .openapi('AdminOverview');

// ---------------------------------------------------------------------------------------------
// Generations (telemetry rows)
// ---------------------------------------------------------------------------------------------

export const GenerationsQuerySchema = z.object({
  provider: ProviderName.optional().openapi({ description: 'selected_provider' }),
  route_strategy: RouteStrategy.optional(),
  status: z.enum(['succeeded', 'failed']).optional(),
  fallback_used: z
    .enum(['true', 'false'])
    .transform((value) => value === 'true')
    .optional(),
  source: z.enum(TELEMETRY_SOURCES).optional(),
  recipe: z.enum(TELEMETRY_RECIPES).optional(),
  user_id: z.string().uuid().optional(),
  from: z
    .string()
    .datetime({ offset: true })
    .optional()
    .openapi({ description: 'created at or after (ISO 8601)' }),
  to: z
    .string()
    .datetime({ offset: true })
    .optional()
    .openapi({ description: 'created before (ISO 8601)' }),
  cursor,
  limit: limit(50),
});

export const GenerationSchema = z
  .object({
    id: z.string().uuid().describe('the telemetry row'),
    request_id: z.string().uuid().nullable(),
    created_at: timestamp,
    source: z.enum(TELEMETRY_SOURCES),
    recipe: z.enum(TELEMETRY_RECIPES).nullable(),
    status: z.enum(['succeeded', 'failed']).nullable(),
    user_id: z.string().uuid().nullable(),
    generation_id: z.string().uuid().nullable().describe('the job, for recipes that run as jobs'),
    requested_provider: z.string().nullable(),
    selected_provider: z.string().nullable(),
    fallback_provider: z.string().nullable(),
    fallback_used: z.boolean(),
    route_strategy: z.string().nullable(),
    latency_ms: z.number().int().nullable(),
    model: z.string().nullable(),
    prompt_template_version: z.string().nullable(),
    tokens_input: z.number().int().nullable(),
    tokens_output: z.number().int().nullable(),
    cost_usd: z.number().nullable(),
  })
  .openapi('AdminGeneration');

export const GenerationPageSchema = z
  .object({
    data: z.array(GenerationSchema),
    next_cursor: nextCursor,
    searched_back_to: timestamp
      .nullable()
      .describe(
        'Set when the page holds fewer rows than asked for but the search is not over: one request reads a bounded share of the table, so a combination of filters that is rare together is searched in steps. Every match newer than this time is in data; pass next_cursor to search older rows. Null when the page is full or nothing older matches.',
      ),
  })
  .openapi('AdminGenerationPage');

export const GenerationParamsSchema = z.object({
  request_id: z
    .string()
    .uuid()
    .openapi({ description: 'the request id, or the id of the telemetry row' }),
});

export const AttemptSchema = z
  .object({
    attempt_no: z.number().int(),
    provider: z.string(),
    model: z.string().nullable(),
    status: z.enum(['succeeded', 'failed', 'timeout', 'aborted']),
    error_class: z.string().nullable(),
    http_status: z.number().int().nullable(),
    latency_ms: z.number().int().nullable(),
    ttfb_ms: z.number().int().nullable(),
    retry_after_ms: z.number().int().nullable(),
    error: z.unknown().nullable(),
    started_at: timestamp,
    backoff_ms: z
      .number()
      .nullable()
      .describe('wait between the end of the previous attempt and the start of this one'),
  })
  .openapi('AdminAttempt');

export const GenerationDetailSchema = z
  .object({
    generation: GenerationSchema.extend({
      prompt: z.string().nullable(),
      input: z.unknown().nullable(),
      output: z.unknown().nullable(),
      error: z.unknown().nullable(),
      metadata: z.record(z.string(), z.unknown()),
      schema_valid: z.boolean().nullable(),
      patch_apply_success: z.boolean().nullable(),
      edit_after_generate: z.boolean().nullable(),
      publish_conversion: z.boolean().nullable(),
      safety_compliant: z.boolean().nullable(),
    }),
    attempts: z.array(AttemptSchema).describe('in the order they were made'),
    job: JobSchema.nullable(),
    rows_with_request_id: z
      .number()
      .int()
      .describe(
        'telemetry rows sharing this request id (a client may repeat one); the newest is shown',
      ),
  })
  .openapi('AdminGenerationDetail');

// ---------------------------------------------------------------------------------------------
// Jobs
// ---------------------------------------------------------------------------------------------

export const JobsQuerySchema = z.object({
  window: z
    .enum(JOB_WINDOWS)
    .default('24h')
    .openapi({ description: 'counts cover jobs created in this window (default 24h)' }),
  recipe: z.enum(JOB_RECIPES).optional().openapi({ description: 'narrows the failed jobs' }),
  cursor,
  limit: limit(20),
});

export const JobIdParamsSchema = z.object({ id: z.string().uuid() });

export const JobsSchema = z
  .object({
    window: z.enum(WINDOWS),
    counts: z.array(
      z.object({
        recipe: z.enum(JOB_RECIPES),
        status: z.enum(JOB_STATUSES),
        count: z.number().int(),
      }),
    ),
    waiting: z.number().int().describe('all pending jobs, whatever their age'),
    running: z.number().int(),
    oldest_waiting: JobSchema.nullable(),
    failed: z
      .object({ data: z.array(JobSchema), next_cursor: nextCursor })
      .describe('failed and timed_out jobs, most recently finished first'),
  })
  .openapi('AdminJobs');

// ---------------------------------------------------------------------------------------------
// Providers
// ---------------------------------------------------------------------------------------------

export const EnvironmentQuerySchema = z.object({
  environment: environmentName
    .optional()
    .openapi({ description: "default: the server's GENLOOP_ENV" }),
});

export const ProviderHealthSchema = ProviderCooldownSchema.omit({ provider: true }).extend({
  attempts_1h: z.number().int().describe('provider attempts in the last hour (all environments)'),
  error_rate_1h: z.number().nullable(),
  p95_latency_ms_1h: z.number().nullable(),
});

export const ProviderConfigSchema = z
  .object({
    provider: ProviderName,
    environment: z.string(),
    enabled: z.boolean(),
    is_default: z.boolean(),
    weight: z.number().int(),
    timeout_ms: z.number().int(),
    max_retries: z.number().int(),
    model: z.string().nullable(),
    prompt_template_version: z.string(),
    metadata: z.record(z.string(), z.unknown()),
    updated_at: timestamp,
    health: ProviderHealthSchema,
  })
  .openapi('AdminProviderConfig');

export const ProvidersSchema = z
  .object({
    environment: z.string(),
    route_strategy: RouteStrategy.describe(
      "the default row's metadata.route_strategy, else fallback (as the router decides)",
    ),
    providers: z.array(ProviderConfigSchema),
  })
  .openapi('AdminProviders');

export const ProviderParamsSchema = z.object({
  environment: environmentName,
  provider: ProviderName,
});

export const ProviderPatchSchema = z
  .object({
    weight: z.number().int().min(0).max(100).optional(),
    enabled: z.boolean().optional(),
    is_default: z.boolean().optional(),
  })
  .strict()
  .refine(
    (body) =>
      body.weight !== undefined || body.enabled !== undefined || body.is_default !== undefined,
    { message: 'give at least one of weight, enabled, is_default' },
  )
  .openapi('AdminProviderPatch');

export const ProviderUpdatedSchema = z
  .object({
    provider: ProviderConfigSchema.omit({ health: true }),
    rollout_log_id: z.number().int(),
  })
  .openapi('AdminProviderUpdated');

// ---------------------------------------------------------------------------------------------
// Evals
// ---------------------------------------------------------------------------------------------

export const EvalsQuerySchema = z.object({ cursor, limit: limit(20) });

export const EvalPageSchema = z
  .object({ data: z.array(EvalRunWithGatesSchema), next_cursor: nextCursor })
  .openapi('AdminEvalPage');

export const EvalRunParamsSchema = z.object({
  run_id: z.string().regex(/^[1-9][0-9]{0,14}$/, 'a run id (a positive integer)'),
});

export const EvalRunDetailSchema = EvalRunWithGatesSchema.extend({
  git_sha: z.string().nullable(),
  trigger_ref: z.string().nullable(),
  thresholds: z.record(z.string(), z.unknown()),
  metadata: z.record(z.string(), z.unknown()),
  report: z.unknown().nullable(),
}).openapi('AdminEvalRunDetail');

export const EvalTrendQuerySchema = z.object({
  runs: z.coerce
    .number()
    .int()
    .min(1)
    .max(200)
    .default(30)
    .openapi({ description: 'how many of the latest runs (default 30)' }),
  schema_variant: z.enum(['sitecraft', 'flashcards', 'interior', 'generic']).optional(),
});

export const EvalTrendSchema = z
  .object({
    metrics: z.array(z.enum(EVAL_METRICS)),
    runs: z.array(EvalRunSummarySchema).describe('oldest first; aborted runs left out'),
  })
  .openapi('AdminEvalTrend');

// ---------------------------------------------------------------------------------------------
// Rollouts and environments
// ---------------------------------------------------------------------------------------------

export const RolloutsQuerySchema = z.object({
  environment: environmentName.optional(),
  cursor,
  limit: limit(50),
});

export const RolloutEntrySchema = z
  .object({
    id: z.number().int(),
    environment: z.string(),
    action: z.string(),
    operator: z.string(),
    status: z.enum(['ok', 'failed', 'info']),
    started_at: timestamp,
    finished_at: timestamp.nullable(),
    verification: z.unknown().nullable(),
    rollback_test_result: z.string().nullable(),
    saved_state: z.unknown().nullable(),
    notes: z.string().nullable(),
    created_at: timestamp,
  })
  .openapi('AdminRolloutEntry');

export const RolloutPageSchema = z
  .object({ data: z.array(RolloutEntrySchema), next_cursor: nextCursor })
  .openapi('AdminRolloutPage');

export const VerifyParamsSchema = z.object({
  environment: z.enum(['staging', 'prod', 'single_db']),
});

export const VerificationSchema = z
  .object({
    target: z.enum(['staging', 'prod', 'single_db']),
    passed: z.boolean(),
    checks: z.array(
      z.object({
        name: z.string(),
        source: z.string(),
        sql: z.string(),
        rows: z.array(z.record(z.string(), z.unknown())),
        expectation: z.string(),
        passed: z.boolean(),
        detail: z.string(),
      }),
    ),
    rollout_log_id: z.number().int(),
  })
  .openapi('AdminVerification');

export const EnvironmentsSchema = z
  .object({
    current: z.string().describe("the server's GENLOOP_ENV"),
    environments: z.array(
      z.object({
        environment: z.string(),
        providers: z.number().int(),
        enabled: z.number().int(),
        default_provider: z.string().nullable(),
      }),
    ),
  })
  .openapi('AdminEnvironments');

// ---------------------------------------------------------------------------------------------
// Canary
// ---------------------------------------------------------------------------------------------

const CanarySideSchema = z
  .object({
    samples: z.number().int().describe('first tries routed to this side since the step began'),
    fallback_rate: z.number().nullable(),
    p95_latency_ms: z.number().nullable(),
    schema_valid_rate: z.number().nullable(),
    schema_valid_samples: z.number().int(),
    safety_rate: z.number().nullable(),
    safety_samples: z.number().int(),
  })
  .openapi('AdminCanarySide');

export const CanaryCheckSchema = z
  .object({
    n: z.number().int().describe('1-based, in the order the checks were made'),
    checked_at: timestamp,
    window_start: timestamp,
    step: z.number().int().describe('1-based step the check was made at'),
    weight: z.number().int().describe("the candidate's weight (percent) at that step"),
    verdict: z.enum(['passed', 'failed', 'inconclusive']),
    decision: z.enum(['hold', 'step', 'promote', 'rollback', 'halt']),
    candidate: CanarySideSchema,
    baseline: CanarySideSchema.describe("the environment's other providers"),
    guardrails: z.array(
      z.object({
        name: z.enum([
          'fallback_rate',
          'p95_latency_ms',
          'schema_valid_rate',
          'schema_valid_vs_baseline',
          'safety',
        ]),
        value: z.number().nullable(),
        kind: z.enum(['max', 'min']).describe('max: may not exceed limit; min: may not fall below'),
        limit: z.number().nullable(),
        ok: z.boolean().nullable().describe('null: nothing observed, or no limit set'),
        immediate: z.boolean().describe('a breach rolls back at once'),
      }),
    ),
    reason: z.string(),
    rollout_log_id: z.number().int().nullable(),
  })
  .openapi('AdminCanaryCheck');

export const CanarySchema = z
  .object({
    id: z.number().int(),
    environment: z.string(),
    state: z.enum(CANARY_STATES),
    provider: z.string().describe('the candidate'),
    weight: z.number().int().describe("the candidate's share of first tries now (percent)"),
    step: z.number().int().describe('1-based position in steps'),
    steps: z.array(z.number().int()),
    interval: z.string().describe('between checks, e.g. 10m'),
    thresholds: z.object({
      min_samples: z.number().int(),
      max_failed_checks: z.number().int(),
      max_fallback_rate: z.number(),
      max_p95_ms: z.number().nullable().describe('null: latency is shown, never a guardrail'),
      min_schema_valid: z.number(),
    }),
    failed_checks: z.number().int(),
    inconclusive_checks: z.number().int(),
    reason: z.string().nullable().describe('why it stopped progressing'),
    operator: z.string(),
    started_at: timestamp,
    step_started_at: timestamp,
    next_check_at: timestamp.nullable(),
    finished_at: timestamp.nullable(),
    checks: z.array(CanaryCheckSchema).describe('in the order they were made'),
  })
  .openapi('AdminCanary');

export const CanaryAnswerSchema = z
  .object({
    environment: z.string(),
    canary: CanarySchema.nullable().describe(
      'the latest canary of the environment; null: none yet',
    ),
  })
  .openapi('AdminCanaryAnswer');

// ---------------------------------------------------------------------------------------------
// Spend and budgets
// ---------------------------------------------------------------------------------------------

export const SpendQuerySchema = z.object({
  window: z.enum(WINDOWS).default('24h').openapi({ description: 'time window (default 24h)' }),
});

const UserBudgetSchema = z.object({
  limit_usd: z.number(),
  period: z.enum(['day', 'month']),
  source: z.enum(['user', 'plan']).describe("the user's own limit, or their plan's"),
  plan: z.string().nullable(),
});

export const SpendSchema = z
  .object({
    window: z.enum(WINDOWS).describe('the window asked for'),
    from: timestamp.describe('start of what was summed: a whole minute (1h) or hour (24h, 7d)'),
    to: timestamp,
    read_from: z
      .enum(['raw', 'rollup'])
      .describe('1h sums the telemetry rows of the last hour; 24h and 7d read the rollups'),
    total_usd: z.number().describe('calls of unknown cost are left out, never counted as free'),
    calls: z.number().int().describe('telemetry rows with a known cost'),
    unpriced_calls: z
      .number()
      .int()
      .describe('telemetry rows of the window whose cost is unknown (left out of the sums)'),
    users_from: timestamp.describe(
      'start of what top_users sums: `from` for 1h; for 24h and 7d the start of the UTC day `from` falls in, as spend per user is kept per day',
    ),
    by_provider: z.array(
      z.object({
        provider: z.string().nullable().describe('selected_provider'),
        cost_usd: z.number(),
        calls: z.number().int(),
      }),
    ),
    top_users: z
      .array(
        z.object({
          user_id: z.string().uuid(),
          cost_usd: z.number(),
          calls: z.number().int(),
          budget: UserBudgetSchema.nullable().describe('null: no limit'),
        }),
      )
      .describe('the 10 users who spent most from users_from to `to`, most first'),
    budgets: z.object({
      plans: z.array(
        z.object({
          name: z.string(),
          limit_usd: z.number(),
          period: z.enum(['day', 'month']),
          users: z.number().int(),
        }),
      ),
      user_limits: z
        .array(UserBudgetSchema.extend({ user_id: z.string().uuid() }))
        .describe("users with a limit of their own (it beats their plan's), highest first"),
      user_limits_total: z.number().int(),
    }),
  })
  .openapi('AdminSpend');

// ---------------------------------------------------------------------------------------------
// Sign-in
// ---------------------------------------------------------------------------------------------

export const SignInBodySchema = z
  .object({ code: z.string().min(1).max(256) })
  .strict()
  .openapi('AdminSignIn');

export const SignInResultSchema = z
  .object({
    access_token: z.string().describe('a service_role JWT'),
    token_type: z.literal('bearer'),
    expires_at: timestamp,
  })
  .openapi('AdminSignInResult');

// ---------------------------------------------------------------------------------------------
// Types for the console's code
// ---------------------------------------------------------------------------------------------

export type Window = (typeof WINDOWS)[number];
export type Overview = z.infer<typeof OverviewSchema>;
export type OverviewPoint = z.infer<typeof OverviewPointSchema>;
export type OverviewSeries = z.infer<typeof OverviewSeriesSchema>;
export type CacheHitRate = z.infer<typeof CacheSchema>;
export type ProviderCooldown = z.infer<typeof ProviderCooldownSchema>;
export type Job = z.infer<typeof JobSchema>;
export type Generation = z.infer<typeof GenerationSchema>;
export type GenerationPage = z.infer<typeof GenerationPageSchema>;
export type GenerationsQuery = z.input<typeof GenerationsQuerySchema>;
export type Attempt = z.infer<typeof AttemptSchema>;
export type GenerationDetail = z.infer<typeof GenerationDetailSchema>;
export type Jobs = z.infer<typeof JobsSchema>;
export type ProviderConfig = z.infer<typeof ProviderConfigSchema>;
export type ProviderHealth = z.infer<typeof ProviderHealthSchema>;
export type Providers = z.infer<typeof ProvidersSchema>;
export type ProviderPatch = z.infer<typeof ProviderPatchSchema>;
export type ProviderUpdated = z.infer<typeof ProviderUpdatedSchema>;
export type EvalRunSummary = z.infer<typeof EvalRunSummarySchema>;
export type FailedGate = z.infer<typeof FailedGateSchema>;
export type EvalRun = z.infer<typeof EvalRunWithGatesSchema>;
export type EvalPage = z.infer<typeof EvalPageSchema>;
export type EvalRunDetail = z.infer<typeof EvalRunDetailSchema>;
export type EvalTrend = z.infer<typeof EvalTrendSchema>;
export type RolloutEntry = z.infer<typeof RolloutEntrySchema>;
export type RolloutPage = z.infer<typeof RolloutPageSchema>;
export type Verification = z.infer<typeof VerificationSchema>;
export type Environments = z.infer<typeof EnvironmentsSchema>;
export type CanaryAnswer = z.infer<typeof CanaryAnswerSchema>;
export type Canary = z.infer<typeof CanarySchema>;
export type CanaryCheck = z.infer<typeof CanaryCheckSchema>;
export type Spend = z.infer<typeof SpendSchema>;
export type SignInResult = z.infer<typeof SignInResultSchema>;
/** The problem document of every error (`code` is stable; `errors` name the fields of a 400). */
export type { Problem } from '../http/http-error.ts';
