import type { Command } from 'commander';
import { OperatorError, toError } from '../lib/errors.ts';
import { createLogger } from '../lib/logger.ts';
import {
  faultConfigFromHeader,
  type LatencySpec,
  parseLatency,
  SIMULATE_HEADER,
  startSimulator,
} from '../simulator/index.ts';
import type { CliContext } from './context.ts';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

interface SimulatorFlags {
  port: string;
  host: string;
  webhookSecret?: string;
  faults?: string;
  latency?: string;
  publicUrl?: string;
}

/** `genloop simulator`: the provider simulator on its own, until SIGINT or SIGTERM. */
export function registerSimulatorCommand(program: Command, context: CliContext): void {
  program
    .command('simulator')
    .description('run the OpenAI/OpenRouter/custom/Replicate simulator (docs/simulator.md)')
    .option('--port <port>', 'port to listen on (0 picks a free one)', '8788')
    .option('--host <host>', 'interface to bind', '127.0.0.1')
    .option(
      '--webhook-secret <secret>',
      'whsec_<base64> secret for Replicate webhooks (REPLICATE_WEBHOOK_SECRET)',
    )
    .option('--faults <spec>', 'default faults, e.g. "openai=error:503;replicate=slow:2000"')
    .option(
      '--latency <spec>',
      'default latency: <ms>, uniform:<p50>:<p99> or lognormal:<p50>:<p99>',
    )
    .option('--public-url <url>', 'base URL clients use to reach this simulator (links in answers)')
    .action(async (flags: SimulatorFlags) => {
      const port = Number(flags.port);
      if (!/^\d+$/.test(flags.port) || port > 65_535) {
        throw new OperatorError(`--port "${flags.port}" is not a port number (0-65535).`);
      }
      let latency: LatencySpec | undefined;
      let faults: Record<string, string> | undefined;
      try {
        latency = flags.latency === undefined ? undefined : parseLatency(flags.latency);
        faults = flags.faults === undefined ? undefined : faultConfigFromHeader(flags.faults);
      } catch (error) {
        throw new OperatorError(`${toError(error).message}`, { cause: error });
      }
      const level = context.env.GENLOOP_LOG_LEVEL;
      const logger = createLogger({
        logLevel: (LOG_LEVELS as readonly string[]).includes(level ?? '')
          ? (level as (typeof LOG_LEVELS)[number])
          : 'info',
      });
      const webhookSecret =
        flags.webhookSecret ?? (context.env.REPLICATE_WEBHOOK_SECRET || undefined);
      const simulator = await startSimulator({
        host: flags.host,
        port,
        logger,
        ...(webhookSecret ? { webhookSecret } : {}),
        ...(faults ? { faults } : {}),
        ...(latency ? { latency } : {}),
        ...(flags.publicUrl ? { publicUrl: flags.publicUrl } : {}),
      });
      const lines = [
        `genloop simulator listening on ${simulator.url}`,
        ...Object.entries(simulator.baseUrls).map(
          ([provider, url]) => `  ${provider.padEnd(11)}${url}`,
        ),
        `replicate webhook secret: ${simulator.webhookSecret}`,
        `faults: ${flags.faults ?? 'none'} (per request: header ${SIMULATE_HEADER}: <provider>=<fault>)`,
      ];
      context.stdout(`${lines.join('\n')}\n`);

      await new Promise<void>((resolve) => {
        const onSignal = () => {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
          simulator.close().then(resolve, (error) => {
            logger.error({ err: error }, 'simulator: error while closing');
            resolve();
          });
        };
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
      });
    });
}
