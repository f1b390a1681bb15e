import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import type { TestProject } from 'vitest/node';
import { startServer } from './support/server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A data directory the server has initialised and migrated: each server starts on a copy. */
    templateDataDir: string;
  }
}

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));

/**
 * The servers of the suite run what `npm start` runs: packages/web/dist, built fresh here so the
 * suite tests this source, and the compiled server (packages/server/dist/main.js). Each starts on
 * a copy of one data directory set up here, so that every file does not pay for PGlite's initdb
 * (about 6 s of CPU each); a first start on an empty directory is the server suite's to test.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const root = fileURLToPath(new URL('..', import.meta.url));
  // Vitest sets NODE_ENV=test, which would give React's development build; `npm start` may
  // serve this very dist, so build it as production.
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await build({
      root,
      configFile: `${root}/vite.config.ts`,
      mode: 'production',
      logLevel: 'warn',
    });
  } finally {
    if (nodeEnv === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = nodeEnv;
  }
  const built = spawnSync(process.execPath, [join(repoRoot, 'scripts', 'ensure-server.mjs')], {
    stdio: 'inherit',
  });
  if (built.status !== 0) throw new Error('building the server failed');

  const templateDataDir = await mkdtemp(join(tmpdir(), 'parley-e2e-template-'));
  const first = await startServer({ dataDir: templateDataDir });
  await first.stop();
  project.provide('templateDataDir', templateDataDir);
  return () => rm(templateDataDir, { recursive: true, force: true });
}
