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
    testTimeout: 30_000,
    hookTimeout: 120_000,
    env: { NODE_ENV: 'test' },
  },
});
