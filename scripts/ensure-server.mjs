// `npm start` runs the server as compiled JavaScript, not through a TypeScript loader: no
// transform at every start, no loader in memory. It builds packages/server/dist/main.js (ES
// modules: the server and the protocol package, what is loaded only on demand in chunks beside it;
// node_modules stay outside) when there is no build or when the server's or the protocol's
// sources changed since the last one.
import { existsSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { newest } from './newest.mjs';
import { build } from 'esbuild';

const path = (p) => fileURLToPath(new URL(p, import.meta.url));
const server = path('../packages/server/');
const outdir = `${server}dist`;
const outfile = `${outdir}/main.js`;

const inputs = Math.max(
  newest(`${server}src`),
  newest(path('../packages/protocol/src')),
  statSync(`${server}package.json`).mtimeMs,
);
if (!existsSync(outfile) || statSync(outfile).mtimeMs < inputs) {
  const pkg = createRequire(import.meta.url)(`${server}package.json`);
  const started = Date.now();
  rmSync(outdir, { recursive: true, force: true });
  await build({
    entryPoints: [`${server}src/main.ts`],
    outdir,
    // What the server imports only when configured to (the Redis client and its scale-out
    // code, with REDIS_URL) goes into chunks of its own: in one file, esbuild would hoist those
    // imports to the top, and every start would load redis (0.2 s of a 3 s start).
    splitting: true,
    // Beside main.js, not in a folder: a module that finds files relative to itself (app.ts, the
    // web client's dist) must resolve them alike from a chunk (app.ts is one: main.ts loads it
    // by a dynamic import, so as to start the database first).
    chunkNames: '[name]-[hash]',
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // Every dependency is loaded from node_modules as it is (native addons, PGlite's files);
    // only the workspace's own TypeScript is compiled in.
    external: Object.keys(pkg.dependencies).filter((name) => !name.startsWith('@parley/')),
    sourcemap: 'linked',
    logLevel: 'warning',
  });
  console.error(`parley: built the server in ${Date.now() - started} ms`);
}
