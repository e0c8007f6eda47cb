import { defineConfig } from 'vitest/config';

// Three tiers: `unit` (pure modules, no I/O, fast), `integration` (a real SQS-compatible server,
// chosen by test/support/backend.ts and started once by its global setup) and `package` (the
// README's user path from `npm pack` on, with its own emulator: the one the README names).
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
      {
        test: {
          name: 'package',
          include: ['test/package/**/*.test.ts'],
          // npm pack (which builds dist/), npm install of the tarball, then three stage processes.
          testTimeout: 300_000,
          hookTimeout: 300_000,
          // After the other tiers: its build and npm install would slow their timing-sensitive tests.
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
