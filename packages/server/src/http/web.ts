import { existsSync } from 'node:fs';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/**
 * Serves the built React client at `/` when there is one. Unknown non-API paths get index.html,
 * so the client's own routes survive a reload. Returns whether a client was found.
 */
export async function registerWebClient(app: FastifyInstance, dist: string): Promise<boolean> {
  if (!existsSync(path.join(dist, 'index.html'))) return false;
  await app.register(fastifyStatic, {
    root: path.resolve(dist),
    wildcard: true,
    index: 'index.html',
  });
  return true;
}
