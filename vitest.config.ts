import { defineConfig } from 'vitest/config';

// `npm test` runs every package's own suite; the browser suite runs apart (`npm run test:e2e`).
export default defineConfig({
  test: {
    projects: ['packages/server', 'packages/web'],
  },
});
