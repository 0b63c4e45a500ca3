import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Integration tests start real servers; two cores leave little to gain from many workers.
    maxWorkers: 2,
    // Compiles the server once, so process tests run what `npm start` runs (test/support/build-server.ts).
    globalSetup: ['test/support/build-server.ts'],
    typecheck: { enabled: true, include: ['test/**/*.test-d.ts'] },
  },
});
