import type { Logger } from 'pino';
import type { Claims } from '../db/context.ts';

/** Who is calling, as established by the auth middleware. */
export interface AuthInfo {
  /** `user`: a JWT; `api_key`: a gateway key (no user; userId is the nil uuid). */
  kind: 'user' | 'api_key';
  userId: string;
  /** The token's own role: what the caller may do (admin routes require `service_role`). */
  role: 'authenticated' | 'service_role';
  /**
   * What the database runs as (`asUser`). Their role is `authenticated`, so row-level security
   * applies, except on routes that require the service_role.
   */
  claims: Claims;
}

declare module 'hono' {
  interface ContextVariableMap {
    requestId: string;
    logger: Logger;
    auth: AuthInfo;
  }
}
