import { afterAll, expect, it } from 'vitest';
import { killChildren, removeTempDirs, startChild, tempDir } from './helpers/process.js';

afterAll(async () => {
  await killChildren();
  removeTempDirs();
});

it('logs requests without their query strings, tokens or passwords', async () => {
  const server = await startChild({ dataDir: tempDir(), env: { LOG_LEVEL: 'info' } });
  const password = 'a password nobody logs';
  const res = await fetch(`${server.url}/api/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'logged_alice', password }),
  });
  const { token } = (await res.json()) as { token: string };
  // A signed attachment URL carries its signature in the query: whoever reads it may fetch.
  await fetch(
    `${server.url}/api/uploads/9d3c2b1a-0f9e-4d8c-b7a6-5e4d3c2b1a09?exp=1&sig=the-signature`,
    {
      headers: { authorization: `Bearer ${token}` },
    },
  );
  await server.stop('SIGTERM');
  const log = server.stdout();
  expect(log).toContain('/api/uploads/9d3c2b1a-0f9e-4d8c-b7a6-5e4d3c2b1a09?[redacted]');
  expect(log).not.toContain('the-signature');
  expect(log).not.toContain(token);
  expect(log).not.toContain(password);
}, 120_000);
