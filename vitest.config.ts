import { defineConfig } from 'vitest/config';

// Two tiers: `unit` (pure modules, no I/O, fast) and `integration` (a real SQS-compatible server,
// chosen by test/support/backend.ts and started once by its global setup).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          typecheck: {
            enabled: true,
            include: ['test/unit/**/*.test-d.ts'],
            tsconfig: './tsconfig.json',
          },
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          // Each file starts its own processes and queues; two files at a time suit 2 cores.
          maxWorkers: 2,
        },
      },
    ],
  },
});
