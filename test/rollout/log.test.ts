import { describe, expect, it } from 'vitest';
import { readLog, resolveOperator, writeLogEntry } from '../../src/rollout/log.ts';
import { describeEachDriver } from '../helpers/db.ts';

describeEachDriver('ai_rollout_log', (use) => {
  it('writes entries and reads them back newest first, by environment and action', async () => {
    const { db } = use();
    const stageStart = new Date('2026-02-15T09:00:00Z');
    const stageEnd = new Date('2026-02-15T09:30:00Z');
    const applyId = await writeLogEntry(db, {
      environment: 'staging',
      action: 'apply',
      operator: 'alice',
      status: 'ok',
      startedAt: stageStart,
      finishedAt: stageEnd,
    });
    const verifyId = await writeLogEntry(db, {
      environment: 'staging',
      action: 'verify',
      operator: 'alice',
      status: 'ok',
      verification: {
        passed: true,
        checks: [{ name: 'default_count', rows: [{ default_count: 1 }] }],
      },
    });
    const noteId = await writeLogEntry(db, {
      environment: 'prod',
      action: 'note',
      operator: 'bob',
      status: 'info',
      rollbackTestResult: 'passed',
      notes: 'rollback drill in staging: restored in one command',
    });

    const all = await readLog(db);
    expect(all.map((entry) => entry.id)).toEqual([noteId, verifyId, applyId]);

    const staging = await readLog(db, { environment: 'staging' });
    expect(staging.map((entry) => entry.action)).toEqual(['verify', 'apply']);
    expect(staging[1]).toMatchObject({
      operator: 'alice',
      status: 'ok',
      startedAt: stageStart,
      finishedAt: stageEnd,
      verification: null,
      savedState: null,
    });
    expect(staging[0]!.verification).toEqual({
      passed: true,
      checks: [{ name: 'default_count', rows: [{ default_count: 1 }] }],
    });
    expect(staging[0]!.startedAt).toBeInstanceOf(Date);

    expect(await readLog(db, { action: 'note' })).toEqual([
      expect.objectContaining({
        id: noteId,
        environment: 'prod',
        rollbackTestResult: 'passed',
        notes: 'rollback drill in staging: restored in one command',
      }),
    ]);
    expect(await readLog(db, { limit: 1 })).toHaveLength(1);
  });

  it('refuses an action the table does not know', async () => {
    const { db } = use();
    await expect(
      writeLogEntry(db, {
        environment: 'prod',
        // @ts-expect-error: an action outside the check constraint
        action: 'deploy',
        operator: 'alice',
        status: 'ok',
      }),
    ).rejects.toMatchObject({ constraint: 'ai_rollout_log_action_check' });
  });
});

describe('resolveOperator', () => {
  it('takes --operator, then $USER, then the account name, then unknown', () => {
    const account = () => 'svc';
    expect(resolveOperator('carol', { USER: 'alice' }, account)).toBe('carol');
    expect(resolveOperator(undefined, { USER: 'alice' }, account)).toBe('alice');
    expect(resolveOperator('  ', { USERNAME: 'win' }, account)).toBe('win');
    expect(resolveOperator(undefined, {}, account)).toBe('svc');
    expect(resolveOperator(undefined, {}, () => ' ')).toBe('unknown');
    const noPasswdEntry = () => {
      throw new Error('ENOENT: no such file or directory, uv_os_get_passwd');
    };
    expect(resolveOperator(undefined, {}, noPasswdEntry)).toBe('unknown');
  });
});
