import { defineConfig } from 'vitest/config';

/**
 * Two lanes: `unit` (pure code, no services: `npm run test:unit`, seconds) and
 * `integration` (`*.integration.test.ts`: real Redis and a real MongoDB-compatible
 * server, started once by test/global-setup.ts). `npm test` runs both.
 */
const INTEGRATION = '**/*.integration.test.ts';
const EXCLUDE = ['node_modules/**', 'dist/**', '.data/**'];

export default defineConfig({
  test: {
    reporters: ['default', './test/summary-reporter.ts'],
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['**/*.test.ts'], exclude: [...EXCLUDE, INTEGRATION], testTimeout: 10_000 },
      },
      {
        extends: true,
        test: { name: 'integration', include: [INTEGRATION], exclude: EXCLUDE, globalSetup: ['test/global-setup.ts'], testTimeout: 30_000, hookTimeout: 60_000 },
      },
    ],
  },
});
