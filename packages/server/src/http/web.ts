import { existsSync } from 'node:fs';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/** Vite names every file under assets/ by a hash of its content: a new build, a new name. */
const IMMUTABLE = 'public, max-age=31536000, immutable';
/** Everything else (index.html above all) names the current assets: ask the server each time. */
const REVALIDATE = 'no-cache';

/**
 * Serves the built React client at `/` when there is one. Unknown non-API paths get index.html,
 * so the client's own routes survive a reload. Returns whether a client was found.
 *
 * The build writes a brotli and a gzip copy next to each text file (`.br`, `.gz`); a browser
 * that accepts one gets it as is, nothing is compressed per request.
 */
export async function registerWebClient(app: FastifyInstance, dist: string): Promise<boolean> {
  if (!existsSync(path.join(dist, 'index.html'))) return false;
  const root = path.resolve(dist);
  const assets = path.join(root, 'assets') + path.sep;
  await app.register(fastifyStatic, {
    root,
    wildcard: true,
    index: 'index.html',
    preCompressed: true,
    cacheControl: false,
    // Also runs for the SPA fallback's reply.sendFile('index.html').
    setHeaders: (reply, file) => {
      void reply.header('cache-control', file.startsWith(assets) ? IMMUTABLE : REVALIDATE);
    },
  });
  return true;
}
