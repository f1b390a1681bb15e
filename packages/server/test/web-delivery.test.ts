import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { brotliCompressSync, brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from './helpers/server.js';

// How the built client goes out: compressed as the build left it (brotli or gzip, whichever the
// browser takes), hashed assets cached for good, index.html checked every time so a new build
// is picked up at the next load.

const INDEX = '<!doctype html><title>Parley</title><div id="root"></div>'.repeat(20);
const SCRIPT = 'console.log("Parley, the client");\n'.repeat(200);
const IMMUTABLE = 'public, max-age=31536000, immutable';

let server: TestServer;
let webDist: string;

/** A dist/ as `vite build` leaves it: each text file with its .br and .gz beside it. */
function writeWithCopies(file: string, text: string) {
  writeFileSync(file, text);
  writeFileSync(`${file}.br`, brotliCompressSync(text));
  writeFileSync(`${file}.gz`, gzipSync(text));
}

beforeAll(async () => {
  webDist = mkdtempSync(path.join(tmpdir(), 'parley-web-'));
  mkdirSync(path.join(webDist, 'assets'));
  writeWithCopies(path.join(webDist, 'index.html'), INDEX);
  writeWithCopies(path.join(webDist, 'assets', 'index-Ab12Cd34.js'), SCRIPT);
  server = await startServer({ webDist });
});
afterAll(async () => {
  await server.close();
  rmSync(webDist, { recursive: true, force: true });
});

interface Raw {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A GET that keeps the bytes as sent (fetch would decompress them and hide the encoding). */
function get(pathname: string, acceptEncoding?: string): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const headers = acceptEncoding === undefined ? {} : { 'accept-encoding': acceptEncoding };
    http
      .get(`${server.url}${pathname}`, { headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
          }),
        );
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

describe('a hashed asset', () => {
  const url = '/assets/index-Ab12Cd34.js';

  it('goes out as brotli to a browser that takes brotli', async () => {
    const res = await get(url, 'gzip, deflate, br');
    expect(res.status).toBe(200);
    expect(res.headers['content-encoding']).toBe('br');
    expect(res.headers['content-type']).toMatch(/javascript/);
    expect(res.headers.vary).toMatch(/accept-encoding/i);
    expect(res.body.length).toBeLessThan(SCRIPT.length / 10);
    expect(brotliDecompressSync(res.body).toString()).toBe(SCRIPT);
  });

  it('goes out as gzip to a browser that takes only gzip', async () => {
    const res = await get(url, 'gzip');
    expect(res.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(res.body).toString()).toBe(SCRIPT);
  });

  it('goes out as is to a client that takes neither', async () => {
    const res = await get(url);
    expect(res.headers['content-encoding']).toBeUndefined();
    expect(res.body.toString()).toBe(SCRIPT);
  });

  it('is cached for a year without revalidation, whatever its encoding', async () => {
    for (const encoding of ['br', 'gzip', undefined]) {
      expect((await get(url, encoding)).headers['cache-control']).toBe(IMMUTABLE);
    }
  });
});

describe('index.html', () => {
  it.each([
    ['the root', '/'],
    ['index.html by name', '/index.html'],
    ['a client route (the SPA fallback)', '/chats/some-chat'],
  ])('is revalidated every time and compressed: %s', async (_what, pathname) => {
    const br = await get(pathname, 'br, gzip');
    expect(br.status).toBe(200);
    expect(br.headers['cache-control']).toBe('no-cache');
    expect(br.headers['content-encoding']).toBe('br');
    expect(br.headers['content-type']).toMatch(/text\/html/);
    expect(brotliDecompressSync(br.body).toString()).toBe(INDEX);

    const gzip = await get(pathname, 'gzip');
    expect(gzip.headers['cache-control']).toBe('no-cache');
    expect(gzip.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gzip.body).toString()).toBe(INDEX);

    const plain = await get(pathname);
    expect(plain.headers['cache-control']).toBe('no-cache');
    expect(plain.body.toString()).toBe(INDEX);
  });
});

it('leaves the API to itself: no static caching on /api', async () => {
  const res = await get('/api/health', 'br');
  expect(res.headers['cache-control']).not.toBe(IMMUTABLE);
  expect(res.headers['content-encoding']).toBeUndefined();
});

it('answers a missing hashed asset with 404, not the page in its place', async () => {
  const res = await get('/assets/index-0ld0ld0l.js', 'br');
  expect(res.status).toBe(404);
  expect(res.headers['content-type']).toMatch(/application\/json/);
});
