import { availableParallelism } from 'node:os';
import { configDefaults, defineConfig } from 'vitest/config';

// Suites of several processes sharing one server (replicas behind a pooler, the canary across
// two serve processes) exist only on Postgres: without DATABASE_URL they are left out rather than
// reported as files without tests.
const postgresOnly = ['test/cluster/**', 'test/rollout/canary-processes.test.ts'];

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: [...configDefaults.exclude, ...(process.env.DATABASE_URL ? [] : postgresOnly)],
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    // At least two files at a time. Most files spend their time waiting on Postgres, child
    // processes or a browser, and each starts from its own database copy, so they run side by
    // side safely; Vitest's default (one worker fewer than the cores) runs them one by one on a
    // two-core machine, where the suite then takes about 9 minutes instead of under 7.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    testTimeout: 30_000,
    hookTimeout: 120_000,
    env: { NODE_ENV: 'test' },
  },
});
