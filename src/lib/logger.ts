import { type Logger, pino } from 'pino';

/** genloop's structured logger: JSON lines on stdout, secrets redacted. */
export function createLogger(config: { logLevel: string }): Logger {
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
