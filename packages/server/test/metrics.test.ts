import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  closeSockets,
  connect,
  createGroup,
  emitAck,
  registerUsers,
  sendMessage,
  settle,
} from './helpers/client.js';
import { startServer, type TestServer } from './helpers/server.js';

const NOBODY = '9d3c2b1a-0f9e-4d8c-b7a6-5e4d3c2b1a09';

/** The value of one sample of the Prometheus text, 0 when the series has not appeared. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const [series, value] = line.split(' ');
    if (!series || value === undefined) continue;
    const brace = series.indexOf('{');
    const bare = brace < 0 ? series : series.slice(0, brace);
    if (bare !== name) continue;
    const set = brace < 0 ? [] : series.slice(brace + 1, -1).split(',');
    if (wanted.every((w) => set.includes(w))) return Number(value);
  }
  return 0;
}

const scrape = async (base: string, headers: Record<string, string> = {}) => {
  const res = await fetch(`${base}/metrics`, { headers });
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
};

describe('GET /metrics, open to loopback clients when no METRICS_TOKEN is set', () => {
  let server: TestServer;
  // One node's figures: with REDIS_URL the test server is several, each counting its own.
  let node: string;
  beforeAll(async () => {
    server = await startServer();
    node = server.nodeUrls[0]!;
  });
  afterEach(() => closeSockets());
  afterAll(() => server.close());

  it('counts sends and their ack latency, deliveries per recipient, sockets, queries and errors', async () => {
    const [alice, bob, carol] = await registerUsers(server.url, 3);
    const group = await createGroup(alice, [bob, carol], 'Metrics');
    const before = (await scrape(node)).text;
    const a = await connect(node, alice.token);
    const b = await connect(node, bob.token);

    let last = '';
    for (const content of ['one', 'two']) {
      const sent = await sendMessage(a, { chatId: group.id, content });
      if (!sent.ok) throw new Error(`send refused: ${sent.error.code}`);
      last = sent.message.id;
    }
    const read = await emitAck(b, 'message:read', { chatId: group.id, messageId: last });
    expect(read).toEqual({ ok: true });
    const refused = await emitAck(a, 'message:send', { chatId: NOBODY, content: 'nowhere' });
    expect(refused).toMatchObject({ ok: false, error: { code: 'not_found' } });
    expect((await fetch(`${node}/api/no-such-route`)).status).toBe(404);
    await settle(a, b);

    const { status, type, text } = await scrape(node);
    expect(status).toBe(200);
    expect(type).toContain('text/plain');
    const grew = (name: string, labels: Record<string, string>) =>
      sample(text, name, labels) - sample(before, name, labels);
    expect(
      grew('parley_socket_event_seconds_count', { event: 'message:send', outcome: 'ok' }),
    ).toBe(2);
    expect(
      grew('parley_socket_event_seconds_count', { event: 'message:send', outcome: 'not_found' }),
    ).toBe(1);
    // Two messages, each to the two sockets in the chat on this node.
    expect(grew('parley_deliveries_total', { event: 'message:new' })).toBe(4);
    // The refused send, and settle's two round trips (a chat:leave of no chat, on each socket).
    expect(grew('parley_errors_total', { code: 'not_found', via: 'socket' })).toBe(3);
    expect(grew('parley_errors_total', { code: 'not_found', via: 'http' })).toBeGreaterThanOrEqual(
      1,
    );
    expect(sample(text, 'parley_connected_sockets')).toBe(2);
    expect(grew('parley_db_query_seconds_count', { outcome: 'ok' })).toBeGreaterThan(0);
    // Group commit: each send and the read came alone, so each flush held one; the send to no
    // chat was flushed too (its statement stored nothing).
    expect(grew('parley_send_batch_size_count', {})).toBe(3);
    expect(grew('parley_sends_stored_total', { by: 'alone' })).toBe(2);
    expect(grew('parley_read_batch_size_count', {})).toBe(1);
    expect(grew('parley_read_batch_size_sum', {})).toBe(1);
    expect(text).toContain('parley_nodejs_eventloop_lag_seconds');
    if (server.config.databaseUrl) {
      expect(text).toContain('parley_db_pool_connections{state="waiting"}');
    }
  });

  it('answers 404 to a request a proxy on this machine relayed', async () => {
    // nginx on the same host connects from loopback; TRUST_PROXY=0 ignores what it forwards.
    const res = await scrape(node, { 'x-forwarded-for': '203.0.113.7' });
    expect(res.status).toBe(404);
    expect(JSON.parse(res.text)).toMatchObject({ error: { code: 'not_found' } });
    expect(res.text).not.toContain('parley_');
  });
});

describe('GET /metrics with METRICS_TOKEN', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ metricsToken: 'a-metrics-token-of-some-length' });
  });
  afterAll(() => server.close());

  it('asks every client, loopback too, for the bearer token', async () => {
    const node = server.nodeUrls[0]!;
    expect((await scrape(node)).status).toBe(404);
    expect(
      (await scrape(node, { authorization: 'Bearer a-metrics-token-of-some-lengtX' })).status,
    ).toBe(404);
    const ok = await scrape(node, { authorization: 'Bearer a-metrics-token-of-some-length' });
    expect(ok.status).toBe(200);
    expect(ok.text).toContain('parley_socket_event_seconds');
  });
});
