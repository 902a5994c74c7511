import { describe, expect, it } from 'vitest';
import { FailsafeError, fromDatabaseError, isDatabaseError, isSystemError, withContext } from './errors.js';

/** What the PostgreSQL driver throws for an error the server sent. */
function serverError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code, severity: 'ERROR' });
}

describe('PostgreSQL server errors', () => {
  it('are UNAVAILABLE and retryable when running the command again is the remedy, with the SQLSTATE', () => {
    const deadlock = withContext('open the staging tables', serverError('40P01', 'deadlock detected'));
    expect(deadlock).toBeInstanceOf(FailsafeError);
    expect(deadlock.code).toBe('UNAVAILABLE');
    expect(deadlock.retryable).toBe(true);
    expect(deadlock.message).toBe('open the staging tables: PostgreSQL: deadlock detected (SQLSTATE 40P01)');
    expect(deadlock.hint).toMatch(/run the same command again/);
    expect(fromDatabaseError(serverError('57P01', 'terminating connection due to administrator command') as never).code).toBe('UNAVAILABLE');
  });

  it('are INTERNAL otherwise, and never taken for a system error', () => {
    const err = serverError('42P01', 'relation "x" does not exist');
    expect(isDatabaseError(err)).toBe(true);
    expect(isSystemError(err)).toBe(false);
    expect(withContext('copy table x', err)).toMatchObject({ code: 'INTERNAL', message: 'copy table x: PostgreSQL: relation "x" does not exist (SQLSTATE 42P01)' });
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    expect(isDatabaseError(refused)).toBe(false);
    expect(withContext('connect', refused).code).toBe('IO');
  });
});
