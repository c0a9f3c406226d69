import type { Command } from 'commander';
import { OperatorError } from '../lib/errors.ts';
import { CANARY_LEASE } from '../rollout/canary/controller.ts';
import { describeBreach, formatValue, type WindowStats } from '../rollout/canary/decide.ts';
import { abortCanary, type FinishedCanary, promoteCanary } from '../rollout/canary/finish.ts';
import { CanaryNotifier } from '../rollout/canary/notify.ts';
import {
  CANARY_DEFAULTS,
  type CanaryFlags,
  formatInterval,
  parseCanaryFlags,
  parseNotifyUrl,
} from '../rollout/canary/settings.ts';
import { startCanary } from '../rollout/canary/start.ts';
import { type CanaryStatus, readCanaryStatus } from '../rollout/canary/status.ts';
import { resolveOperator } from '../rollout/log.ts';
import type { ProviderConfigState } from '../rollout/provider-state.ts';
import { leaseHolder } from '../sql/leases.ts';
import { type CliContext, withDb } from './context.ts';
import { formatTable } from './output.ts';

/** How long a command waits for its own notification to go out before it exits. */
const NOTIFY_WAIT_MS = 10_000;

/** Exit codes of a dry run: as a gate, 0 promoted, 2 rolled back, 3 halted (inconclusive). */
export const DRY_RUN_EXIT = { promoted: 0, rolled_back: 2, halted: 3 } as const;

type StartFlags = CanaryFlags & {
  provider?: string;
  notify?: string;
  dryRun?: boolean;
  faults?: string;
  operator?: string;
};

/**
 * `genloop canary start|status|promote|abort --env <env>`: the automated canary of a provider,
 * driven by the controller inside `genloop serve`. `--env` is genloop's global option (the
 * routing environment, as in `ai_provider_configs.environment`), required here.
 */
export function registerCanaryCommands(program: Command, context: CliContext): void {
  const canary = program
    .command('canary')
    .description('move first tries to a provider step by step while its guardrails hold')
    .addHelpText(
      'after',
      '\nEvery canary command takes --env <environment> (required).\nStates: progressing, promoted, rolled_back, halted, aborted.\nRunbook: docs/runbook.md ("Canary")',
    );

  canary
    .command('start')
    .description('start a canary of --provider in --env (the controller in genloop serve runs it)')
    .option('--provider <name>', 'the candidate provider (openai, custom, openrouter); required')
    .option(
      '--steps <list>',
      'candidate weights in percent, increasing, ending at 100',
      CANARY_DEFAULTS.steps.join(','),
    )
    .option(
      '--interval <duration>',
      'time between checks: s, m or h (e.g. 30s, 10m)',
      formatInterval(CANARY_DEFAULTS.intervalMs),
    )
    .option(
      '--max-fallback-rate <rate>',
      'guardrail: the candidate falls back at most this often',
      String(CANARY_DEFAULTS.maxFallbackRate),
    )
    .option(
      '--max-p95-ms <ms>',
      'guardrail: the candidate p95 latency at most this (default: none)',
    )
    .option(
      '--min-schema-valid <rate>',
      'guardrail: schema-valid rate at least this',
      String(CANARY_DEFAULTS.minSchemaValid),
    )
    .option(
      '--min-samples <n>',
      'first tries to the candidate a check needs to decide',
      String(CANARY_DEFAULTS.minSamples),
    )
    .option(
      '--max-failed-checks <n>',
      'failed checks allowed; one more rolls back',
      String(CANARY_DEFAULTS.maxFailedChecks),
    )
    .option('--notify <url>', 'POST each decision here as signed JSON')
    .option(
      '--dry-run',
      'run the canary on an embedded copy with simulated traffic; change nothing',
    )
    .option('--faults <spec>', 'dry run only: simulator faults, e.g. "custom=error:503@0.3"')
    .option('--operator <name>', 'who starts it (default $USER)')
    .action(async (flags: StartFlags, command: Command) => {
      const environment = environmentOf(command);
      const { provider } = flags;
      if (!provider) {
        throw new OperatorError(
          '--provider is required: the provider whose share of first tries the canary grows (e.g. custom).',
        );
      }
      const settings = parseCanaryFlags(flags);
      const notifyUrl = flags.notify === undefined ? undefined : parseNotifyUrl(flags.notify);
      if (flags.faults !== undefined && !flags.dryRun) {
        throw new OperatorError(
          "--faults needs --dry-run: faults are injected into the dry run's simulator, never into real providers.",
        );
      }
      const operator = resolveOperator(flags.operator, context.env);
      if (flags.dryRun) {
        if (notifyUrl)
          context.stdout('note: a dry run posts no notifications; --notify is not used\n');
        const { runDryRun } = await import('./canary-dry-run.ts');
        const state = await runDryRun(context, {
          environment,
          provider,
          settings,
          operator,
          faults: flags.faults,
        });
        if (state !== 'promoted') {
          throw new OperatorError(`dry run ended ${state}: see the timeline above.`, {
            exitCode: state === 'rolled_back' ? DRY_RUN_EXIT.rolled_back : DRY_RUN_EXIT.halted,
          });
        }
        return;
      }
      await withDb(context, async (db) => {
        const started = await startCanary(db, {
          environment,
          provider,
          settings,
          operator,
          notifyUrl,
        });
        const { run } = started;
        context.stdout(
          `canary #${run.id} started in ${environment}: ${run.provider} at ${run.steps[0]}% of first tries (step 1 of ${run.steps.length}: ${run.steps.join(', ')})\n` +
            `checks every ${formatInterval(settings.intervalMs)}, first at ${run.nextCheckAt.toISOString()}\n` +
            `guardrails: ${describeSettings(started.run.settings)}\n\n` +
            `before:\n${formatState(started.before)}\n\nafter:\n${formatState(started.after)}\n\n` +
            `logged as rollout log #${started.event.log_id}; watch: genloop canary status --env ${environment}\n`,
        );
        if (run.notifyUrl && run.notifySecret) {
          context.stdout(
            `notify: each decision is posted to ${run.notifyUrl}, signed per Standard Webhooks with ${run.notifySecret} (shown once; keep it to verify them)\n`,
          );
          await notifyNow(run, started.event, context);
        }
        if (!(await leaseHolder(db, CANARY_LEASE))) {
          context.stdout(
            'note: no genloop serve leads the canary controller on this database right now; the canary moves once one runs.\n',
          );
        }
      });
    });

  canary
    .command('status')
    .description("show --env's latest canary: state, weight, step and every check")
    .option('--json', 'print one JSON object (state, provider, weight, step, checks, ...)')
    .action(async (flags: { json?: boolean }, command: Command) => {
      const environment = environmentOf(command);
      await withDb(context, async (db) => {
        const status = await readCanaryStatus(db, environment);
        if (!status) {
          throw new OperatorError(
            `no canary has run in ${environment}; start one with genloop canary start --env ${environment} --provider <name>.`,
          );
        }
        context.stdout(
          flags.json ? `${JSON.stringify(status, null, 2)}\n` : `${renderStatus(status)}\n`,
        );
      });
    });

  canary
    .command('promote')
    .description("skip --env's canary to the end: the candidate becomes the default at 100%")
    .option('--operator <name>', 'who promotes (default $USER)')
    .action(async (flags: { operator?: string }, command: Command) => {
      const environment = environmentOf(command);
      await withDb(context, async (db) => {
        const finished = await promoteCanary(db, {
          environment,
          operator: resolveOperator(flags.operator, context.env),
        });
        await printFinished(context, 'promoted', finished);
      });
    });

  canary
    .command('abort')
    .description("roll --env's canary back now: the configs as they were before it started")
    .option('--operator <name>', 'who aborts (default $USER)')
    .action(async (flags: { operator?: string }, command: Command) => {
      const environment = environmentOf(command);
      await withDb(context, async (db) => {
        const finished = await abortCanary(db, {
          environment,
          operator: resolveOperator(flags.operator, context.env),
        });
        await printFinished(context, 'aborted', finished);
      });
    });
}

function environmentOf(command: Command): string {
  const value = command.optsWithGlobals<{ env?: string }>().env;
  if (value === undefined || value.trim() === '') {
    throw new OperatorError(
      '--env is required: the routing environment of the canary (ai_provider_configs.environment, e.g. prod).',
    );
  }
  if (!/^[a-z][a-z0-9_-]{0,62}$/.test(value)) {
    throw new OperatorError(
      `--env "${value}" is not an environment name (lower-case letters, digits, _ or -).`,
    );
  }
  return value;
}

async function printFinished(
  context: CliContext,
  what: 'promoted' | 'aborted',
  finished: FinishedCanary,
): Promise<void> {
  const { run } = finished;
  context.stdout(
    `canary #${run.id} of ${run.provider} in ${run.environment} ${what} in one transaction: ${finished.event.reason}\n\n` +
      `before:\n${formatState(finished.before)}\n\nafter:\n${formatState(finished.after)}\n\n` +
      `logged as rollout log #${finished.event.log_id}\n`,
  );
  await notifyNow(run, finished.event, context);
}

/** Posts a decision taken by this command, waiting a bounded time so the process can exit. */
async function notifyNow(
  run: { notifyUrl: string | null; notifySecret: string | null },
  event: Parameters<CanaryNotifier['send']>[1],
  context: CliContext,
): Promise<void> {
  if (!run.notifyUrl) return;
  const notifier = new CanaryNotifier({ retryDelaysMs: [1_000, 3_000] });
  notifier.send({ url: run.notifyUrl, secret: run.notifySecret }, event);
  if (!(await notifier.flush(NOTIFY_WAIT_MS))) {
    context.stderr(`genloop: warning: the notification to ${run.notifyUrl} did not go through\n`);
  }
  notifier.close();
}

const STATE_COLUMNS = ['provider', 'enabled', 'is_default', 'weight', 'route_strategy'];

/** Provider rows with the strategy each one names (only the default's counts). */
export function formatState(rows: readonly ProviderConfigState[]): string {
  return formatTable(
    rows.map((row) => ({
      provider: row.provider,
      enabled: row.enabled,
      is_default: row.is_default,
      weight: row.weight,
      route_strategy: row.metadata?.route_strategy ?? '',
    })),
    STATE_COLUMNS,
  );
}

function describeSettings(settings: {
  maxFallbackRate: number;
  minSchemaValid: number;
  maxP95Ms: number | null;
  minSamples: number;
  maxFailedChecks: number;
}): string {
  return (
    `fallback rate <= ${settings.maxFallbackRate}, schema-valid >= ${settings.minSchemaValid} ` +
    `and within 1 point of the baseline, safety not below the baseline, ` +
    `p95 ${settings.maxP95Ms === null ? 'not limited' : `<= ${settings.maxP95Ms} ms`}; ` +
    `min samples ${settings.minSamples}, max failed checks ${settings.maxFailedChecks}`
  );
}

/** `canary status` as text: where the canary is, then one line per check. */
export function renderStatus(status: CanaryStatus): string {
  const lines = [
    `canary #${status.id} of ${status.provider} in ${status.environment}: ${status.state}`,
  ];
  if (status.reason) lines.push(status.reason);
  lines.push(
    `weight      ${status.weight}% of first tries (step ${status.step} of ${status.steps.length}: ${status.steps.join(' → ')})`,
    `checks      every ${status.interval}; ${status.failed_checks} failed so far, ${status.inconclusive_checks} inconclusive in a row${status.next_check_at ? `; next at ${status.next_check_at}` : ''}`,
    `guardrails  ${describeSettings({
      maxFallbackRate: status.thresholds.max_fallback_rate,
      minSchemaValid: status.thresholds.min_schema_valid,
      maxP95Ms: status.thresholds.max_p95_ms,
      minSamples: status.thresholds.min_samples,
      maxFailedChecks: status.thresholds.max_failed_checks,
    })}`,
    `started     ${status.started_at} by ${status.operator}${status.finished_at ? `; finished ${status.finished_at}` : ''}`,
    '',
    status.checks.length === 0
      ? 'no check yet'
      : formatTable(
          status.checks.map((check) => ({
            n: check.n,
            checked_at: check.checked_at,
            weight: `${check.weight}%`,
            verdict: check.verdict,
            decision: check.decision,
            ...sideColumns('', check.candidate),
            ...sideColumns('base_', check.baseline),
            breached: check.guardrails
              .filter((guardrail) => guardrail.ok === false)
              .map(describeBreach)
              .join('; '),
          })),
        ),
  );
  return lines.join('\n');
}

function sideColumns(prefix: string, stats: WindowStats): Record<string, string | number> {
  return {
    [`${prefix}tries`]: stats.samples,
    [`${prefix}fallback`]: formatValue('fallback_rate', stats.fallbackRate),
    [`${prefix}p95`]: formatValue('p95_latency_ms', stats.p95LatencyMs),
    [`${prefix}schema_valid`]: formatValue('schema_valid_rate', stats.schemaValidRate),
  };
}
