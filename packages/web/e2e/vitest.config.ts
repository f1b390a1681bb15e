import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The browser suite: the real server (embedded database) on port 0, Debian's Chromium through
// playwright-core. One file at a time: each starts its own server and browser.
export default defineConfig({
  root: fileURLToPath(new URL('../../..', import.meta.url)),
  test: {
    name: 'e2e',
    environment: 'node',
    include: ['packages/web/e2e/**/*.e2e.ts'],
    globalSetup: ['packages/web/e2e/global-setup.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
});
