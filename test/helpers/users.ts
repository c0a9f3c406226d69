import { randomUUID } from 'node:crypto';
import type { Claims } from '../../src/db/context.ts';

/** Claims of a fresh end user, as Supabase Auth would issue them. */
export function userClaims(sub: string = randomUUID()): Claims {
  return { sub, role: 'authenticated', aud: 'authenticated' };
}
