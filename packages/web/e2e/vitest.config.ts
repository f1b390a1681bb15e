import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The browser suite: the real server (embedded database) on port 0, Debian's Chromium through
// playwright-core. Three files at a time: each starts its own server and browser on free ports,
// and much of a browser test is waiting (for a socket, a render, a timeout), which the others
// fill; CI's 20-minute budget needs it.
export default defineConfig({
  root: fileURLToPath(new URL('../../..', import.meta.url)),
  test: {
    name: 'e2e',
    environment: 'node',
    include: ['packages/web/e2e/**/*.e2e.ts'],
    globalSetup: ['packages/web/e2e/global-setup.ts'],
    fileParallelism: true,
    maxWorkers: 3,
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
});
