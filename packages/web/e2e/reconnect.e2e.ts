import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from './support/server.js';
import {
  chats,
  gone,
  launchBrowser,
  messageItem,
  messages,
  send,
  signUp,
  startDirectChat,
  texts,
  tokenOf,
  visible,
  type Person,
} from './support/browser.js';

let server: TestServer;
let browser: Browser;
let eve: Person;
let finn: Person;

beforeAll(async () => {
  [server, browser] = await Promise.all([startServer(), launchBrowser()]);
  eve = await signUp(browser, server.url, 'eve', 'Eve');
  finn = await signUp(browser, server.url, 'finn', 'Finn');
});

afterAll(async () => {
  await browser?.close();
  await server?.dispose();
});

/** Finn writes through the HTTP API, as a client without a socket would. */
async function postAsFinn(token: string, chatId: string, content: string) {
  const response = await fetch(`${server.url}/api/chats/${chatId}/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ content, clientMessageId: `finn-${content}` }),
  });
  expect(response.status).toBe(201);
}

describe('losing the connection', () => {
  it('says so, and on reconnect shows what was missed, once each and in order', async () => {
    await startDirectChat(eve.page, 'finn');
    await send(eve.page, 'Before the outage');
    // Stored before the server goes: a send still in flight would be sent again on reconnect,
    // after Finn's, and rightly shown after them.
    await visible(messageItem(eve.page, 'Before the outage').getByText('Sent', { exact: true }));
    const chatId = new URL(eve.page.url()).pathname.split('/').pop() ?? '';
    const finnToken = await tokenOf(finn.page);
    await finn.page.context().close();

    // The server goes away: Eve is told she is reconnecting.
    const { port, dataDir } = server;
    await server.stop();
    const status = eve.page.getByRole('status');
    await visible(status);
    expect(await status.innerText()).toMatch(/Reconnecting/);

    // It comes back on the same port and data; Finn writes before Eve's socket is back.
    server = await startServer({ port, dataDir });
    const missed = ['Missed one', 'Missed two', 'Missed three'];
    for (const text of missed) await postAsFinn(finnToken, chatId, text);

    await gone(status, 30_000);
    for (const text of missed) await visible(messageItem(eve.page, text));
    await texts(messages(eve.page).getByRole('listitem').locator('.text'), [
      'Before the outage',
      ...missed,
    ]);
    // The list caught up too.
    await visible(chats(eve.page).getByRole('link', { name: /^Finn.*Missed three/ }));

    // Sending works again over the new connection.
    await send(eve.page, 'Back online');
    await visible(messageItem(eve.page, 'Back online').getByText('Sent', { exact: true }));
  });
});
