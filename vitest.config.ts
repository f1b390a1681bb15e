import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

// `npm test` runs every package's own suite; the browser suite runs apart (`npm run test:e2e`).
// At least two workers, also on a two-core machine (vitest's default there is one): a server
// suite on the embedded PGlite keeps one core busy in its own process, so a second file runs
// beside it almost for free, and CI's time budget needs it.
export default defineConfig({
  test: {
    projects: ['packages/protocol', 'packages/server', 'packages/web'],
    maxWorkers: Math.max(2, availableParallelism() - 1),
  },
});
