import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  gone,
  launchBrowser,
  messageItem,
  messages,
  send,
  signUp,
  startDirectChat,
  texts,
  visible,
  type Person,
} from './support/browser.js';
import { startServer, type TestServer } from './support/server.js';

const LIMIT = 3;

let server: TestServer;
let browser: Browser;
let gil: Person;

beforeAll(async () => {
  [server, browser] = await Promise.all([
    startServer({ env: { RATE_LIMIT_MESSAGES: String(LIMIT) } }),
    launchBrowser(),
  ]);
  gil = await signUp(browser, server.url, 'gil', 'Gil');
  await signUp(browser, server.url, 'hana', 'Hana');
});

afterAll(async () => {
  await browser?.close();
  await server?.dispose();
});

describe('a refused message', () => {
  it('says why in words, and a retry sends it once', async () => {
    await startDirectChat(gil.page, 'hana');
    for (let i = 1; i <= LIMIT; i++) await send(gil.page, `Quick ${i}`);

    // One too many within the window: the server refuses it (rate_limited).
    await send(gil.page, 'One too many');
    const failed = messageItem(gil.page, 'One too many');
    await visible(failed.getByText(/Not sent\. You are sending too fast/));

    // The window passes; Retry re-sends the same clientMessageId, and it is stored once.
    await new Promise((resolve) => setTimeout(resolve, 10_500));
    await failed.getByRole('button', { name: 'Retry' }).click();
    await gone(failed.getByRole('button', { name: 'Retry' }));
    await visible(failed.getByText('Sent', { exact: true }));
    await texts(messages(gil.page).getByRole('listitem').locator('.text'), [
      'Quick 1',
      'Quick 2',
      'Quick 3',
      'One too many',
    ]);
    await gil.page.reload();
    await visible(messageItem(gil.page, 'One too many'));
    expect(await messages(gil.page).getByRole('listitem').count()).toBe(LIMIT + 1);
  });
});
