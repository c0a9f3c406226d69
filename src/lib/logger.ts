import { type Logger, pino } from 'pino';
import type { ResolvedConfig } from '../config/schema.ts';

/** genloop's structured logger: JSON lines on stdout, secrets redacted. */
export function createLogger(config: Pick<ResolvedConfig, 'logLevel'>): Logger {
  return pino({
    level: config.logLevel,
    base: { service: 'genloop' },
    redact: {
      paths: [
        'req.headers.authorization',
        'headers.authorization',
        '*.apiKey',
        '*.api_key',
        '*.token',
      ],
      censor: '[redacted]',
    },
  });
}

export type { Logger };
