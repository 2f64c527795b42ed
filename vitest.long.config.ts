import { defineConfig } from 'vitest/config';

// `npm run test:long`: the runs of minutes (test/long/), which .ci/run starts after `npm test`.
// They need `npm run build` (they spawn dist/) and a Redis on 127.0.0.1:6379 for their tools;
// each starts private redis-servers where it measures memory. Kept under ~8 minutes in all.
export default defineConfig({
  test: {
    include: ['test/long/**/*.test.ts'],
    testTimeout: 10 * 60_000,
    hookTimeout: 60_000,
    fileParallelism: false,
  },
});
