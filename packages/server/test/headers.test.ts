import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from './helpers/server.js';

// Security headers on everything Parley serves: another page must not frame it signed in, a
// browser must not sniff a JSON answer into a script, and no URL leaks through Referer.

let server: TestServer;
let webDist: string;
beforeAll(async () => {
  webDist = mkdtempSync(path.join(tmpdir(), 'parley-web-'));
  writeFileSync(
    path.join(webDist, 'index.html'),
    '<!doctype html><title>Parley</title><div id="root"></div>',
  );
  server = await startServer({ webDist });
});
afterAll(async () => {
  await server.close();
  rmSync(webDist, { recursive: true, force: true });
});

/** The directives of a Content-Security-Policy header, by name. */
function directives(header: string | null): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const part of (header ?? '').split(';')) {
    const [name, ...values] = part.trim().split(/\s+/);
    if (name) map.set(name, values);
  }
  return map;
}

describe.each([
  ['the web client', '/'],
  ['a client-side route of the web client', '/chats/some-chat'],
  ['the API', '/api/health'],
  ['an API error', '/api/chats'],
  ['an unknown API route', '/api/nothing-here'],
])('security headers on %s', (_what, pathname) => {
  it('forbid framing, plugins and foreign scripts, sniffing and referrers', async () => {
    const res = await fetch(`${server.url}${pathname}`);
    const csp = directives(res.headers.get('content-security-policy'));
    expect(csp.get('default-src')).toEqual(["'self'"]);
    expect(csp.get('frame-ancestors')).toEqual(["'none'"]);
    expect(csp.get('object-src')).toEqual(["'none'"]);
    expect(csp.get('script-src')).toEqual(["'self'"]);
    // A plain-HTTP deployment must keep loading its own scripts.
    expect(csp.has('upgrade-insecure-requests')).toBe(false);
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
  });
});

it('serves the web client itself under that policy', async () => {
  const res = await fetch(`${server.url}/`);
  expect(res.status).toBe(200);
  expect(await res.text()).toContain('<div id="root">');
});
