import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDirect, postMessage } from './support/api.js';
import {
  gone,
  launchBrowser,
  messages,
  openChat,
  send,
  signUp,
  textOf,
  tokenOf,
  visible,
  type Person,
} from './support/browser.js';
import { startServer, type TestServer } from './support/server.js';

let server: TestServer;
let browser: Browser;
let gina: Person;
let hugo: Person;
let chatId: string;

beforeAll(async () => {
  [server, browser] = await Promise.all([startServer(), launchBrowser()]);
  [gina, hugo] = await Promise.all([
    signUp(browser, server.url, 'gina', 'Gina'),
    signUp(browser, server.url, 'hugo', 'Hugo'),
  ]);
  // Hugo's page keeps every WebSocket it opens, so that a test can cut them (see goOffline).
  await hugo.page.context().addInitScript(() => {
    const sockets: WebSocket[] = [];
    (window as unknown as { __sockets: WebSocket[] }).__sockets = sockets;
    const Native = window.WebSocket;
    window.WebSocket = class extends Native {
      constructor(url: string | URL, protocols?: string | string[]) {
        super(url, protocols);
        sockets.push(this);
      }
    };
  });
  await hugo.page.reload();

  const hugoId = await userId(hugo.page);
  chatId = (await createDirect(server.url, await tokenOf(gina.page), hugoId)).id;
  await openChat(gina.page, 'Hugo');
  await openChat(hugo.page, 'Gina');
});

afterAll(async () => {
  await browser?.close();
  await server?.dispose();
});

/** A message of the open chat by its whole text; a reply quoting it is left out. */
const item = (page: Page, text: string): Locator =>
  messages(page)
    .getByRole('listitem')
    .filter({ has: page.getByText(text, { exact: true }) })
    .filter({ hasNot: page.getByRole('button', { name: /^Reply to / }) });

/** Opens the message's menu ("Message actions") and picks an item of it. */
async function act(page: Page, text: string, action: 'Edit' | 'Delete' | 'Reply' | 'React') {
  const message = item(page, text);
  await message.hover();
  await message.getByRole('button', { name: 'Message actions' }).click();
  await page.getByRole('menuitem', { name: action, exact: true }).click();
}

describe('changing a message', () => {
  it('edits a message in place: Enter saves, both sides read the new text and "edited"', async () => {
    await send(gina.page, 'Lunch at noon?');
    await visible(item(hugo.page, 'Lunch at noon?'));

    await act(gina.page, 'Lunch at noon?', 'Edit');
    const field = gina.page.getByRole('textbox', { name: 'Edit message' });
    await visible(field);
    await field.fill('Lunch at one?');
    await field.press('Enter');
    await gone(field);

    for (const page of [gina.page, hugo.page]) {
      const edited = item(page, 'Lunch at one?');
      await visible(edited);
      await visible(edited.getByText('edited', { exact: true }));
      await gone(item(page, 'Lunch at noon?'));
    }
  });

  it('Escape leaves an edit unsaved', async () => {
    await send(gina.page, 'Keep this as it is');
    await act(gina.page, 'Keep this as it is', 'Edit');
    const field = gina.page.getByRole('textbox', { name: 'Edit message' });
    await field.fill('Something else');
    await field.press('Escape');
    await gone(field);
    await visible(item(gina.page, 'Keep this as it is'));
    expect(await item(gina.page, 'Keep this as it is').getByText('edited').count()).toBe(0);
  });

  it('deletes a message after a confirmation: both sides read "Message deleted"', async () => {
    await send(gina.page, 'Oops, wrong chat');
    await visible(item(hugo.page, 'Oops, wrong chat'));
    const before = await messages(hugo.page).getByText('Message deleted').count();

    await act(gina.page, 'Oops, wrong chat', 'Delete');
    await gina.page.getByRole('button', { name: 'Delete message' }).click();

    for (const page of [gina.page, hugo.page]) {
      await gone(item(page, 'Oops, wrong chat'));
      await expect
        .poll(() => messages(page).getByText('Message deleted').count(), { timeout: 15_000 })
        .toBe(before + 1);
    }
  });

  it('reacts: the chip "👍 1" reaches the other side live, and toggles', async () => {
    await send(gina.page, 'Pizza tonight?');
    await visible(item(hugo.page, 'Pizza tonight?'));

    await act(hugo.page, 'Pizza tonight?', 'React');
    await hugo.page
      .getByRole('dialog', { name: 'Add a reaction' })
      .getByRole('button', { name: '👍', exact: true })
      .click();

    const hugosChip = item(hugo.page, 'Pizza tonight?').getByRole('button', { name: '👍 1' });
    const ginasChip = item(gina.page, 'Pizza tonight?').getByRole('button', { name: '👍 1' });
    await visible(hugosChip);
    await visible(ginasChip);
    // Mine is highlighted (pressed); someone else's is not.
    expect(await hugosChip.getAttribute('aria-pressed')).toBe('true');
    expect(await ginasChip.getAttribute('aria-pressed')).toBe('false');

    // Gina adds hers by clicking the chip; Hugo sees 2.
    await ginasChip.click();
    await visible(item(hugo.page, 'Pizza tonight?').getByRole('button', { name: '👍 2' }));
    const ginas2 = item(gina.page, 'Pizza tonight?').getByRole('button', { name: '👍 2' });
    await visible(ginas2);
    expect(await ginas2.getAttribute('aria-pressed')).toBe('true');

    // Hugo takes his back.
    await item(hugo.page, 'Pizza tonight?').getByRole('button', { name: '👍 2' }).click();
    await visible(item(gina.page, 'Pizza tonight?').getByRole('button', { name: '👍 1' }));
  });

  it('replies with a quote; clicking the quote scrolls to the answered message, loading history', async () => {
    const ginaToken = await tokenOf(gina.page);
    await postMessage(server.url, ginaToken, chatId, 'Who brings the tent?');
    // Sixty messages later the answered one is far above.
    for (let i = 1; i <= 60; i++) {
      await postMessage(server.url, ginaToken, chatId, `Filler line ${i}`, `filler-${i}`);
    }
    await visible(item(hugo.page, 'Filler line 60'));

    // Hugo answers it (the menu scrolls it into view) and his reply goes to the bottom.
    await act(hugo.page, 'Who brings the tent?', 'Reply');
    await send(hugo.page, 'I will bring it');
    const quoteIn = (page: Page) =>
      messages(page)
        .getByRole('listitem')
        .filter({ hasText: 'I will bring it' })
        .getByRole('button', { name: 'Reply to Gina' });
    await visible(quoteIn(hugo.page));
    await textOf(quoteIn(hugo.page), /Who brings the tent\?/);
    await visible(quoteIn(gina.page));

    const original = (page: Page) => item(page, 'Who brings the tent?');
    await expect.poll(() => onScreen(original(hugo.page))).toBe(false);
    await quoteIn(hugo.page).click();
    await expect.poll(() => onScreen(original(hugo.page)), { timeout: 15_000 }).toBe(true);

    // A fresh page holds only the newest messages: the quote loads history until it is there.
    await gina.page.reload();
    await visible(quoteIn(gina.page));
    expect(await original(gina.page).count()).toBe(0);
    await quoteIn(gina.page).click();
    await expect.poll(() => onScreen(original(gina.page)), { timeout: 15_000 }).toBe(true);
  });
});

describe('a client that was offline', () => {
  it('shows the edits and deletes made meanwhile once it reconnects', async () => {
    await send(gina.page, 'First draft of the plan');
    await send(gina.page, 'A line to take back');
    await send(gina.page, 'This one stays');
    await visible(item(hugo.page, 'This one stays'));
    const deletedBefore = await messages(hugo.page).getByText('Message deleted').count();

    await goOffline(hugo.page);
    await act(gina.page, 'First draft of the plan', 'Edit');
    const field = gina.page.getByRole('textbox', { name: 'Edit message' });
    await field.fill('Final plan: leave at eight');
    await field.press('Enter');
    await visible(item(gina.page, 'Final plan: leave at eight'));
    await act(gina.page, 'A line to take back', 'Delete');
    await gina.page.getByRole('button', { name: 'Delete message' }).click();
    await gone(item(gina.page, 'A line to take back'));

    // Nothing reached Hugo meanwhile.
    expect(await item(hugo.page, 'First draft of the plan').count()).toBe(1);
    expect(await item(hugo.page, 'A line to take back').count()).toBe(1);

    await goOnline(hugo.page);
    const edited = item(hugo.page, 'Final plan: leave at eight');
    await visible(edited, 30_000);
    await visible(edited.getByText('edited', { exact: true }));
    await gone(item(hugo.page, 'First draft of the plan'));
    await gone(item(hugo.page, 'A line to take back'));
    expect(await messages(hugo.page).getByText('Message deleted').count()).toBe(deletedBefore + 1);
    await visible(item(hugo.page, 'This one stays'));
  });
});

/** Whether the element shows inside the message list's scrolled view. */
function onScreen(locator: Locator): Promise<boolean> {
  return locator.evaluate((el) => {
    const list = el.closest('[aria-label="Messages"]');
    if (!list) return false;
    const r = el.getBoundingClientRect();
    const view = list.getBoundingClientRect();
    return r.height > 0 && r.bottom > view.top + 1 && r.top < view.bottom - 1;
  });
}

/** Cuts the page off the network and closes its sockets, until goOnline. */
async function goOffline(page: Page) {
  await page.context().setOffline(true);
  await page.evaluate(() => {
    for (const socket of (window as unknown as { __sockets: WebSocket[] }).__sockets) {
      socket.close();
    }
  });
  await visible(page.getByRole('status').filter({ hasText: /Reconnecting/ }));
}

async function goOnline(page: Page) {
  await page.context().setOffline(false);
  await gone(page.getByRole('status').filter({ hasText: /Reconnecting/ }), 30_000);
}

async function userId(page: Page): Promise<string> {
  return page.evaluate(async () => {
    const token = localStorage.getItem('parley.token');
    const response = await fetch('/api/auth/me', { headers: { authorization: `Bearer ${token}` } });
    return ((await response.json()) as { user: { id: string } }).user.id;
  });
}
