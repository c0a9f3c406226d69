import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { TalliedCounter } from './metrics.ts';

function counter() {
  const registry = new Registry();
  const tallied = new TalliedCounter({
    name: 'test_calls_total',
    help: 'calls',
    labelNames: ['route', 'status'] as const,
    registers: [registry],
  });
  return { registry, tallied };
}

describe('TalliedCounter', () => {
  it('shows what was counted when read, once, per series', async () => {
    const { registry, tallied } = counter();
    tallied.count({ route: '/a', status: '200' });
    tallied.count({ route: '/a', status: '200' }, 2);
    tallied.count({ route: '/a', status: '500' });
    // Values that would collide if joined naively stay apart.
    tallied.count({ route: '/a\u0000b', status: '1' });
    tallied.count({ route: '/a', status: 'b\u00001' });
    const values = (await tallied.get()).values.map(({ labels, value }) => [labels, value]);
    expect(values).toEqual([
      [{ route: '/a', status: '200' }, 3],
      [{ route: '/a', status: '500' }, 1],
      [{ route: '/a\u0000b', status: '1' }, 1],
      [{ route: '/a', status: 'b\u00001' }, 1],
    ]);
    tallied.count({ route: '/a', status: '200' });
    const text = await registry.metrics();
    expect(text).toContain('test_calls_total{route="/a",status="200"} 4');
    expect(text).toContain('test_calls_total{route="/a",status="500"} 1');
    // A read with nothing new counted changes nothing.
    expect(await registry.metrics()).toBe(text);
  });

  it('keeps the labels it was first given, not the caller object', async () => {
    const { tallied } = counter();
    const labels = { route: '/b', status: '200' };
    tallied.count(labels);
    labels.status = '404';
    expect((await tallied.get()).values).toEqual([
      expect.objectContaining({ labels: { route: '/b', status: '200' }, value: 1 }),
    ]);
  });
});
