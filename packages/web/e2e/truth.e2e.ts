// What the client shows must be true (issue 10): a message sent while the server is down says
// "Sending…", never "Not sent", and arrives once when the server is back; while disconnected no
// one is shown online.
import type { Me } from '@parley/protocol';
import type { Browser, Locator } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDirect } from './support/api.js';
import {
  gone,
  launchBrowser,
  messageItem,
  messages,
  openChat,
  signUp,
  tokenOf,
  visible,
  type Person,
} from './support/browser.js';
import { startServer, type TestServer } from './support/server.js';

let server: TestServer;
let browser: Browser;
let alice: Person;
let bob: Person;

beforeAll(async () => {
  [server, browser] = await Promise.all([startServer(), launchBrowser()]);
  [alice, bob] = await Promise.all([
    signUp(browser, server.url, 'alice', 'Alice'),
    signUp(browser, server.url, 'bob', 'Bob'),
  ]);
});

afterAll(async () => {
  await browser?.close();
  await server?.dispose();
});

async function me(token: string): Promise<Me> {
  const response = await fetch(`${server.url}/api/auth/me`, {
    headers: { authorization: `Bearer ${token}` },
  });
  return ((await response.json()) as { user: Me }).user;
}

describe('a message’s state is the truth', () => {
  it('sent while the server is down: "Sending…", not "Not sent"; once back, delivered once', async () => {
    const [aliceToken, bobToken] = await Promise.all([tokenOf(alice.page), tokenOf(bob.page)]);
    const chat = await createDirect(server.url, aliceToken, (await me(bobToken)).id);
    await openChat(alice.page, 'Bob');
    const header = alice.page.getByRole('region', { name: 'Bob' });
    const bobOnline: Locator = header.getByText('online', { exact: true });
    await visible(bobOnline);
    // Time on Alice's page is ours to move: past the old 15 s send deadline in an instant.
    await alice.page.clock.install();

    const { port, dataDir } = server;
    await server.stop();
    const status = alice.page.getByRole('status').filter({ hasText: /Reconnecting/ });
    await visible(status);
    // Offline, Bob's presence is not known: not shown as online.
    await gone(bobOnline);

    const text = 'Written while the server was down';
    const field = alice.page.getByRole('textbox', { name: 'Message' });
    await field.fill(text);
    await field.press('Enter');
    const item = messageItem(alice.page, text);
    await visible(item.getByText('Sending…'));
    await alice.page.clock.fastForward(20_000);
    await visible(item.getByText('Sending…'));
    expect(await item.getByText(/Not sent/).count()).toBe(0);
    expect(await item.getByRole('button', { name: 'Retry' }).count()).toBe(0);

    server = await startServer({ port, dataDir });
    await gone(status, 30_000);
    await visible(item.getByText('Sent', { exact: true }), 30_000);
    await visible(bobOnline, 30_000);

    // Bob has it exactly once, on screen and on the server.
    await openChat(bob.page, 'Alice');
    await visible(messageItem(bob.page, text));
    await expect.poll(() => messages(bob.page).getByText(text, { exact: true }).count()).toBe(1);
    const stored = await fetch(`${server.url}/api/chats/${chat.id}/messages`, {
      headers: { authorization: `Bearer ${bobToken}` },
    });
    const { messages: held } = (await stored.json()) as { messages: { content: string }[] };
    expect(held.filter((m) => m.content === text)).toHaveLength(1);
  });
});
