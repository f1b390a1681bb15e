import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDirect, postMessage, register } from './support/api.js';
import {
  chats,
  launchBrowser,
  messageItem,
  messages,
  openChat,
  signUp,
  textOf,
  texts,
  visible,
  type Person,
} from './support/browser.js';
import { startServer, type TestServer } from './support/server.js';

const TOTAL = 130;
const line = (i: number) => `Note number ${i}`;

let server: TestServer;
let browser: Browser;
let reader: Person;

beforeAll(async () => {
  [server, browser] = await Promise.all([startServer(), launchBrowser()]);
  reader = await signUp(browser, server.url, 'reader', 'Rita Reader');
});

afterAll(async () => {
  await browser?.close();
  await server?.dispose();
});

const list = (page: Page) => messages(page).getByRole('listitem');

describe('a long history', () => {
  it('opens at the first unread, loads older ones on scrolling up, and counts unread', async () => {
    const writer = await register(server.url, 'writer', 'Walt Writer');
    const chat = await createDirect(server.url, writer.token, await readerId());
    for (let i = 1; i <= TOTAL; i++) await postMessage(server.url, writer.token, chat.id, line(i));

    // Unread in the list, before opening.
    const entry = chats(reader.page).getByRole('link', { name: /^Walt Writer/ });
    await visible(entry);
    await textOf(entry, new RegExp(`${line(TOTAL)}`));
    expect(await entry.textContent()).toMatch(new RegExp(`${TOTAL} unread`));

    // All of them unread: the chat opens at the first, under "Unread messages" (older pages
    // loaded to reach it), and only what was on screen is read; Jump to latest reads the rest.
    await openChat(reader.page, 'Walt Writer');
    await visible(messageItem(reader.page, line(1)).getByText('Unread messages'));
    await reader.page.getByRole('button', { name: /^Jump to latest, \d+ new messages$/ }).click();
    await expect.poll(() => entry.textContent()).not.toMatch(/unread/);

    // Nothing unread now: a reload opens at the newest, with only the latest page held.
    await reader.page.reload();
    await visible(messageItem(reader.page, line(TOTAL)));
    expect(await list(reader.page).count()).toBeLessThan(TOTAL);

    // Scroll up until the first message is there.
    await expect
      .poll(
        async () => {
          await messages(reader.page).evaluate((el) => el.scrollTo({ top: 0 }));
          return list(reader.page).count();
        },
        { timeout: 20_000, interval: 300 },
      )
      .toBe(TOTAL);
    await texts(
      list(reader.page).locator('.text'),
      Array.from({ length: TOTAL }, (_, i) => line(i + 1)),
    );
  });
});

async function readerId(): Promise<string> {
  const id = await reader.page.evaluate(async () => {
    const token = localStorage.getItem('parley.token');
    const response = await fetch('/api/auth/me', { headers: { authorization: `Bearer ${token}` } });
    return ((await response.json()) as { user: { id: string } }).user.id;
  });
  return id;
}
