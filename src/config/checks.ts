import { isWebhookSecret } from '../lib/webhook-secret.ts';
import type { Check } from './parsers.ts';

// The checks of single settings whose rules are their own. Each returns the one-line message
// naming the variable, or undefined when the value is fine.

export const postgresUrl: Check = (value, name) => {
  if (!URL.canParse(value)) {
    return `${name} is not a valid URL; use postgres://user:password@host:5432/database (or unset it to run on embedded PGlite).`;
  }
  const url = new URL(value);
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    return `${name} uses the scheme "${url.protocol.replace(/:$/, '')}"; use postgres://user:password@host:5432/database.`;
  }
  if (url.hostname === '' && !url.searchParams.has('host')) {
    return `${name} has no host; use postgres://user:password@host:5432/database.`;
  }
  return undefined;
};

export const environmentName: Check = (value, name) =>
  /^[a-z][a-z0-9_-]{0,31}$/.test(value)
    ? undefined
    : `${name}="${value}" is not an environment name; use lower-case letters, digits, _ or - (for example prod or staging).`;

export const jwtSecret: Check = (value, name) =>
  value.length >= 32
    ? undefined
    : `${name} is ${value.length} characters long; use the Supabase JWT secret or another secret of at least 32 characters.`;

/** `iss` is compared byte for byte: a stray space or a malformed URL would refuse every token. */
export const issuer: Check = (value, name) =>
  /^[\x21-\x7e]+$/.test(value) && (!value.includes(':') || URL.canParse(value))
    ? undefined
    : `${name}="${value}" is not an issuer; give the exact iss claim of your tokens, e.g. https://<project>.supabase.co/auth/v1.`;

/** The token is a secret, so the message does not repeat it. */
export const metricsToken: Check = (value, name) =>
  /^[\x21-\x7e]{24,}$/.test(value)
    ? undefined
    : `${name} must be at least 24 printable characters without spaces; use a long random token (openssl rand -hex 24).`;

export const apiKey: Check = (value, name) =>
  value.length >= 24
    ? undefined
    : `${name} holds a key shorter than 24 characters; use long random keys (openssl rand -hex 24).`;

export const webhookSecret: Check = (value, name) =>
  isWebhookSecret(value)
    ? undefined
    : `${name} is not a Standard Webhooks secret; copy the whsec_<base64> value from Replicate (GET /v1/webhooks/default/secret).`;

export const signingKey: Check = (value, name) =>
  value.length >= 32
    ? undefined
    : `${name} is ${value.length} characters long; use at least 32 random characters (openssl rand -hex 32).`;

export const bucketName: Check = (value, name) =>
  /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(value)
    ? undefined
    : `${name}="${value}" is not a bucket name; use 3-63 lower-case letters, digits, dots or hyphens.`;

export const assetHost: Check = (value, name) =>
  /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/.test(value)
    ? undefined
    : `${name} holds "${value}", which is not a host name; list host names such as replicate.delivery or *.replicate.delivery, comma-separated.`;

/**
 * Credentials are allowed for the listed origins, so a wildcard, a path or anything that is not
 * an http(s) origin is refused rather than guessed at.
 */
export const corsOrigin: Check = (value, name) => {
  const fix =
    'list exact origins as scheme://host[:port] with no path, comma-separated (e.g. https://app.example.com,http://localhost:3000).';
  if (value.includes('*')) {
    return `${name} holds "${value}"; wildcards are not allowed because credentials are; ${fix}`;
  }
  const url = URL.canParse(value) ? new URL(value) : undefined;
  if (
    url === undefined ||
    (url.protocol !== 'http:' && url.protocol !== 'https:') ||
    !/^[a-z][a-z0-9+.-]*:\/\/[^/?#@]+$/i.test(value)
  ) {
    return `${name} holds "${value}", which is not an origin; ${fix}`;
  }
  return undefined;
};
