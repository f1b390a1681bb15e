import { defineConfig } from 'vitest/config';

// Integration tests: a real server on port 0, on PGlite by default or on the PostgreSQL of
// DATABASE_URL (each server in a fresh database it creates and drops). CI runs both passes.
//
// Suites whose behaviour does not depend on the store (or that concern the embedded one alone)
// run once, in the embedded pass; the fault suite, which takes PostgreSQL down, and the cluster
// suite (several processes need PostgreSQL and Redis) run in the PostgreSQL pass, as do the
// search indexes' upkeep (PostgreSQL's alone) and the flood suite's Redis part.
const storeIndependent = [
  'test/config.test.ts',
  'test/connections.test.ts',
  'test/disk.test.ts',
  'test/headers.test.ts',
  'test/lock.test.ts',
  'test/redis-state.test.ts',
  'test/calls-store.test.ts',
];
const postgresOnly = [
  'test/faults.test.ts',
  'test/cluster.test.ts',
  'test/search-upkeep.test.ts',
  'test/flood-redis.test.ts',
];

export default defineConfig({
  test: {
    name: 'server',
    include: ['test/**/*.test.ts'],
    exclude: process.env.DATABASE_URL ? storeIndependent : postgresOnly,
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    isolate: false,
  },
});
