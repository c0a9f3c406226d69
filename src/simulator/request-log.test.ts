import { describe, expect, it } from 'vitest';
import { RequestLog } from './request-log.ts';

function record(log: RequestLog, path: string, method = 'POST') {
  log.add({
    provider: 'openai',
    method,
    path,
    headers: { host: 'x', 'content-type': 'application/json' },
    body: { n: path },
  });
}

describe('RequestLog', () => {
  it('keeps the newest entries in arrival order once full', () => {
    const log = new RequestLog(3);
    for (let index = 1; index <= 7; index++) record(log, `/p${index}`);
    expect(log.list().map((entry) => entry.path)).toEqual(['/p5', '/p6', '/p7']);
    expect(log.list().map((entry) => entry.sequence)).toEqual([5, 6, 7]);
    expect(log.list()[0]!.headers).toEqual({ 'content-type': 'application/json' });
  });

  it('filters by method and path, and starts empty after clear', () => {
    const log = new RequestLog(4);
    record(log, '/a', 'GET');
    record(log, '/b');
    record(log, '/c');
    record(log, '/d', 'GET');
    record(log, '/e');
    expect(log.list({ method: 'get' }).map((entry) => entry.path)).toEqual(['/d']);
    expect(log.list({ path: /^\/[ce]$/ }).map((entry) => entry.path)).toEqual(['/c', '/e']);
    log.clear();
    expect(log.list()).toEqual([]);
    record(log, '/f');
    expect(log.list().map((entry) => [entry.path, entry.sequence])).toEqual([['/f', 6]]);
  });

  it('records nothing with a limit of 0 but still counts arrivals', () => {
    const log = new RequestLog(0);
    record(log, '/a');
    record(log, '/b');
    expect(log.list()).toEqual([]);
    const kept = new RequestLog(1);
    record(kept, '/a');
    record(kept, '/b');
    expect(kept.list().map((entry) => entry.path)).toEqual(['/b']);
  });
});
