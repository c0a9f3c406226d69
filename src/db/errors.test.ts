import { describe, expect, it } from 'vitest';
import { toHttpError } from '../http/error-mapping.ts';
import { DbError, isConnectionFailure } from './errors.ts';

const pgError = (code: string, message = 'failed') =>
  new DbError(Object.assign(new Error(message), { code }), 'select 1', {});

describe('isConnectionFailure', () => {
  it('knows a lost or refused connection from a failed statement', () => {
    // pg_terminate_backend, a server or pooler shutting down, connection exceptions.
    for (const code of ['57P01', '57P02', '57P03', '08006', '08P01', '53300']) {
      expect(isConnectionFailure(pgError(code)), code).toBe(true);
    }
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'EPIPE']) {
      expect(isConnectionFailure(Object.assign(new Error('socket'), { code })), code).toBe(true);
    }
    expect(isConnectionFailure(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(
      isConnectionFailure(
        pgError('', 'Client has encountered a connection error and is not queryable'),
      ),
    ).toBe(true);

    for (const code of ['23505', '40001', '42501', '22P02']) {
      expect(isConnectionFailure(pgError(code)), code).toBe(false);
    }
    expect(isConnectionFailure(new Error('boom'))).toBe(false);
    expect(isConnectionFailure('Connection terminated')).toBe(false);
  });

  it('answers 503 database_unavailable with Retry-After, never a 500', async () => {
    const http = toHttpError(
      pgError('57P01', 'terminating connection due to administrator command'),
    );
    expect(http?.status).toBe(503);
    const response = http!.getResponse('req-1');
    expect(response.headers.get('retry-after')).toBe('1');
    expect(await response.json()).toMatchObject({ code: 'database_unavailable', status: 503 });
    expect(toHttpError(pgError('23505'))).toBeUndefined();
  });
});
