import { defineConfig } from 'vitest/config';

// Integration tests: a real server on port 0, on PGlite by default or on the PostgreSQL of
// DATABASE_URL (each server in a fresh database it creates and drops).
export default defineConfig({
  test: {
    name: 'server',
    include: ['test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
