import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    // End-to-end tests spawn real node processes and a real Prometheus; give them room on a 2-core machine.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Three files at a time on 2 cores: the end-to-end tests mostly wait on the processes they
    // spawn (one at a time the machine sat at a load of ~1 and a Node line took 7 minutes). Each fork
    // takes its ports from a block of its own (test/helpers.ts freePort).
    maxWorkers: 3,
  },
});
