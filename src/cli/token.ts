import type { Command } from 'commander';
import { SignJWT } from 'jose';
import type { ResolvedConfig } from '../config/schema.ts';
import { ConfigError, OperatorError } from '../lib/errors.ts';
import type { CliContext } from './context.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface TokenOptions {
  user: string;
  role?: 'authenticated' | 'service_role';
  expiresIn?: string;
}

/**
 * Signs a token the server accepts, with the configured HS256 secret (the embedded data
 * folder's own secret by default). For local use and scripts; production tokens come from
 * Supabase Auth.
 */
export async function signDevToken(config: ResolvedConfig, options: TokenOptions): Promise<string> {
  if (!UUID.test(options.user)) {
    throw new OperatorError(
      `--user "${options.user}" is not a uuid; pass the user's id, e.g. --user $(uuidgen).`,
    );
  }
  const secret = config.auth.jwtSecret;
  if (secret === undefined) {
    throw new ConfigError(
      'genloop token needs GENLOOP_JWT_SECRET; with GENLOOP_JWKS_URL tokens come from your identity provider.',
    );
  }
  const role = options.role ?? 'authenticated';
  const expiresIn = options.expiresIn ?? '24h';
  if (!/^\d+[smhd]$/.test(expiresIn)) {
    throw new OperatorError(
      `--expires-in "${expiresIn}" is not a duration; use e.g. 15m, 24h or 7d.`,
    );
  }
  return (
    new SignJWT({ role })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(options.user.toLowerCase())
      .setAudience(config.auth.audience)
      // The server compares `iss` with GENLOOP_JWT_ISSUER when that is set.
      .setIssuer(config.auth.issuer ?? 'genloop')
      .setIssuedAt()
      .setExpirationTime(expiresIn)
      .sign(new TextEncoder().encode(secret))
  );
}

export function registerTokenCommand(program: Command, context: CliContext): void {
  program
    .command('token')
    .description('print a JWT the server accepts (signed with the configured secret)')
    .requiredOption('--user <uuid>', 'the user id (sub claim)')
    .option('--role <role>', 'authenticated or service_role', 'authenticated')
    .option('--expires-in <duration>', 'lifetime, e.g. 15m, 24h, 7d', '24h')
    .action(async (options: { user: string; role: string; expiresIn: string }) => {
      if (options.role !== 'authenticated' && options.role !== 'service_role') {
        throw new OperatorError(`--role "${options.role}" is not authenticated or service_role.`);
      }
      const config = context.config();
      context.stdout(
        `${await signDevToken(config, { user: options.user, role: options.role, expiresIn: options.expiresIn })}\n`,
      );
    });
}
