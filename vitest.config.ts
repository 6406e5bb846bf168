import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // Integration tests bind real sockets on loopback; files run in parallel workers,
    // each test picks free ports (port 0), so files never collide.
    pool: 'forks',
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
