import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { api, registerUser } from './helpers/client.js';
import { startServer, type TestServer } from './helpers/server.js';

vi.setConfig({ testTimeout: 60_000 });

let server: TestServer;
beforeAll(async () => {
  server = await startServer({ maxUploadBytes: 123_456 });
});
afterAll(() => server.close());

it('GET /api/uploads/limits tells a signed-in client MAX_UPLOAD_BYTES and the chunk size', async () => {
  const alice = await registerUser(server.url);
  const res = await alice.api.get('/uploads/limits');
  expect(res).toEqual({ status: 200, body: { max_bytes: 123_456, chunk_size: 32 * 1024 } });
  // Not an attachment id: the route is not the download route's 400 or 404.
  const anonymous = await api(server.url).get<{ error: { code: string } }>('/uploads/limits');
  expect([anonymous.status, anonymous.body.error.code]).toEqual([401, 'unauthorized']);
});
