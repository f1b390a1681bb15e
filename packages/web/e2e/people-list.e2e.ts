import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDirect, postMessage, register } from './support/api.js';
import {
  chats,
  gone,
  launchBrowser,
  messageItem,
  messages,
  openChat,
  send,
  textOf,
  visible,
} from './support/browser.js';
import { startServer, type TestServer } from './support/server.js';

// People search by a word of the name with the keyboard, the chat list's filter and row menu,
// new messages read aloud, and the unread badge while scrolled up: as Mia, who writes with Bob.

let server: TestServer;
let browser: Browser;
let page: Page;
let alice: Awaited<ReturnType<typeof register>>;

beforeAll(async () => {
  [server, browser] = await Promise.all([startServer(), launchBrowser()]);
  const mia = await register(server.url, 'mia', 'Mia Chen');
  alice = await register(server.url, 'abrown', 'Alice Brown');
  await register(server.url, 'cbrowning', 'Carl Browning');
  const bob = await register(server.url, 'bstone', 'Bob Stone');
  const direct = await createDirect(server.url, bob.token, mia.user.id);
  await postMessage(server.url, bob.token, direct.id, 'Lunch at noon?');
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  page = await context.newPage();
  await page.goto(server.url);
  await page.evaluate((token) => localStorage.setItem('parley.token', token), mia.token);
  await page.goto(server.url);
  await visible(chats(page).getByRole('link', { name: /^Bob Stone/ }));
});

afterAll(async () => {
  await browser?.close();
  await server?.dispose();
});

/** The display name of the option the search field points at (aria-activedescendant). */
const activeOption = (field: ReturnType<Page['getByRole']>) =>
  field.evaluate((el) => {
    const id = el.getAttribute('aria-activedescendant');
    return id ? document.getElementById(id)?.querySelector('.user-result-name')?.textContent : null;
  });

describe('people search', () => {
  it('offers my chats first, finds "Brown" in a name, and is driven by arrows and Enter', async () => {
    await page.getByRole('button', { name: 'New chat' }).click();
    const dialog = page.getByRole('dialog', { name: 'New chat' });
    const field = dialog.getByRole('combobox', { name: 'Search users' });
    const people = dialog.getByRole('listbox', { name: 'People' });
    // Before typing: the people I already write with.
    await visible(people.getByRole('option', { name: 'Bob Stone' }));

    await field.fill('Brown');
    // Each result is named by the display name it shows: a word of it matched.
    await visible(people.getByRole('option', { name: 'Carl Browning' }));
    expect(await people.getByRole('option').allInnerTexts()).toHaveLength(2);
    await visible(people.getByRole('option', { name: 'Alice Brown' }));
    expect(await activeOption(field)).toBe('Alice Brown');
    await field.press('ArrowDown');
    expect(await activeOption(field)).toBe('Carl Browning');
    await field.press('ArrowUp');
    expect(await activeOption(field)).toBe('Alice Brown');
    await field.press('Enter');
    await gone(dialog);
    await visible(page.getByRole('heading', { name: 'Alice Brown', exact: true }));
  });
});

describe('the chat list', () => {
  it('narrows by title as one types in "Filter chats"', async () => {
    const filter = page.getByRole('searchbox', { name: 'Filter chats' });
    await visible(chats(page).getByRole('link', { name: /^Alice Brown/ }));
    await filter.fill('bob');
    await textOf(page.getByText(/chat matches/), /^1 chat matches\.$/);
    expect(
      (await chats(page).getByRole('link').allInnerTexts()).map((t) => t.split('\n')[0]),
    ).toHaveLength(1);
    await visible(chats(page).getByRole('link', { name: /^Bob Stone/ }));
    await filter.fill('');
    await visible(chats(page).getByRole('link', { name: /^Alice Brown/ }));
  });

  it("blocks Bob from his row's menu, through the Block dialog", async () => {
    await page.getByRole('button', { name: 'Options for Bob Stone' }).click();
    await page
      .getByRole('menu', { name: 'Options for Bob Stone' })
      .getByRole('menuitem', { name: 'Block' })
      .click();
    const dialog = page.getByRole('dialog', { name: 'Block Bob Stone?' });
    await dialog.getByRole('button', { name: 'Block', exact: true }).click();
    await gone(dialog);
    // Blocked: the row's menu now offers Unblock.
    await page.getByRole('button', { name: 'Options for Bob Stone' }).click();
    await visible(page.getByRole('menuitem', { name: 'Unblock' }));
    await page.keyboard.press('Escape');
  });
});

describe('new messages read aloud', () => {
  it('announces a message from someone else in the open chat, not my own', async () => {
    await openChat(page, 'Alice Brown');
    const region = page.locator('.message-announcer[aria-live="polite"]');
    await send(page, 'Hi Alice!');
    expect((await region.innerText()).trim()).toBe('');
    const chat = await page.evaluate(() => location.pathname.split('/').at(-1) ?? '');
    await postMessage(server.url, alice.token, chat, 'hello from Alice');
    await textOf(region, /^Alice Brown: hello from Alice$/);
    await send(page, 'Got it');
    await textOf(region, /^Alice Brown: hello from Alice$/);
  });
});

describe('reading older messages', () => {
  it('keeps the unread badge while scrolled up, until "Jump to latest" shows the message', async () => {
    const chat = await page.evaluate(() => location.pathname.split('/').at(-1) ?? '');
    for (let i = 1; i <= 40; i++) {
      await postMessage(server.url, alice.token, chat, `Line ${i} of a long story`);
    }
    await visible(messageItem(page, 'Line 40 of a long story'));
    const row = (name: RegExp) => chats(page).getByRole('link', { name });
    await visible(row(/^Alice Brown, [^]*Line 40 of a long story, [^,]+$/));
    // Scrolled up to the start, reading; Alice writes once more.
    await messages(page).evaluate((el) => el.scrollTo({ top: 0 }));
    await visible(page.getByRole('button', { name: 'Jump to latest' }));
    await postMessage(server.url, alice.token, chat, 'Are you still there?');
    await visible(page.getByRole('button', { name: 'Jump to latest, 1 new message' }));
    await visible(row(/^Alice Brown, .*Are you still there\?, .*, 1 unread$/));
    await page.getByRole('button', { name: 'Jump to latest, 1 new message' }).click();
    await visible(row(/^Alice Brown, .*Are you still there\?, [^,]+$/));
  });
});
