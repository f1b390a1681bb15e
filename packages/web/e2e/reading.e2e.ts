// Reading and scrolling on a phone-sized page: the newest message stays in view as the message
// area gets shorter, drafts survive a reload, a chat with unread messages opens at the first of
// them and only what was on screen is marked read, and news below shows on Jump to latest.
import type { Chat } from '@parley/protocol';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDirect, postMessage, register } from './support/api.js';
import {
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

const PHONE = { width: 390, height: 844 };

let server: TestServer;
let browser: Browser;
let reader: Person;
let readerToken: string;
let readerId: string;

beforeAll(async () => {
  [server, browser] = await Promise.all([startServer(), launchBrowser()]);
  reader = await signUp(browser, server.url, 'rhea', 'Rhea Reader', PHONE);
  readerToken = await tokenOf(reader.page);
  readerId = await reader.page.evaluate(async (token) => {
    const response = await fetch('/api/auth/me', { headers: { authorization: `Bearer ${token}` } });
    return ((await response.json()) as { user: { id: string } }).user.id;
  }, readerToken);
});

afterAll(async () => {
  await browser?.close();
  await server?.dispose();
});

/** How far the message list is from its end, in pixels. */
const fromEnd = (page: Page) =>
  messages(page).evaluate((el) => Math.round(el.scrollHeight - el.scrollTop - el.clientHeight));

/** Where an element is within the message list's visible box: above, inside, below. */
const placeIn = (page: Page, text: string) =>
  messageItem(page, text).evaluate((li) => {
    const list = li.closest('ol')!.getBoundingClientRect();
    const box = li.getBoundingClientRect();
    if (box.bottom <= list.top) return 'above';
    if (box.top >= list.bottom) return 'below';
    return box.top >= list.top - 1 && box.bottom <= list.bottom + 1 ? 'inside' : 'partly';
  });

/** My read mark in the chat, as the server has it. */
async function readMark(chatId: string): Promise<number> {
  const response = await fetch(`${server.url}/api/chats/${chatId}`, {
    headers: { authorization: `Bearer ${readerToken}` },
  });
  const chat = (await response.json()) as Chat;
  return chat.participants.find((p) => p.id === readerId)?.last_read_seq ?? -1;
}

/** The highest seq of a message at least half on screen in the list. */
const highestOnScreen = (page: Page) =>
  messages(page).evaluate((el) => {
    const list = el.getBoundingClientRect();
    let best = 0;
    for (const li of el.querySelectorAll<HTMLElement>('li[data-seq]')) {
      const box = li.getBoundingClientRect();
      const shown = Math.min(box.bottom, list.bottom) - Math.max(box.top, list.top);
      if (shown >= box.height / 2) best = Math.max(best, Number(li.dataset.seq));
    }
    return best;
  });

describe('reading on a phone', () => {
  it('keeps the newest message in view as the message area gets shorter, and keeps the draft', async () => {
    const { page } = reader;
    const wendy = await register(server.url, 'wendy', 'Wendy Writer');
    const chat = await createDirect(server.url, readerToken, wendy.user.id);
    for (let i = 1; i <= 30; i++) await postMessage(server.url, readerToken, chat.id, `Line ${i}`);
    await openChat(page, 'Wendy Writer');
    await visible(messageItem(page, 'Line 30'));
    await expect.poll(() => fromEnd(page)).toBeLessThan(2);
    const listHeight = () => messages(page).evaluate((el) => el.clientHeight);
    const before = await listHeight();

    // The composer grows to six lines: the list gets shorter, its end stays in view.
    const field = page.getByRole('textbox', { name: 'Message' });
    await field.fill('one\ntwo\nthree\nfour\nfive\nsix');
    await expect.poll(listHeight).toBeLessThan(before - 80);
    await expect.poll(() => fromEnd(page)).toBeLessThan(2);
    expect(await placeIn(page, 'Line 30')).toBe('inside');

    // A phone keyboard: the viewport goes from 844 to 500 px high.
    await page.setViewportSize({ width: PHONE.width, height: 500 });
    await expect.poll(listHeight).toBeLessThan(before - 80 - 300);
    await expect.poll(() => fromEnd(page)).toBeLessThan(2);
    expect(await placeIn(page, 'Line 30')).toBe('inside');
    await page.setViewportSize(PHONE);
    await expect.poll(() => fromEnd(page)).toBeLessThan(2);

    // The draft is still there after a reload, and goes once sent.
    await page.reload();
    await expect.poll(() => field.inputValue()).toBe('one\ntwo\nthree\nfour\nfive\nsix');
    await field.press('Enter');
    await visible(messageItem(page, 'one'));
    await page.reload();
    await visible(messageItem(page, 'Line 30'));
    expect(await field.inputValue()).toBe('');
  });

  it('opens a chat at its first unread message, marks read what was seen, and counts news below', async () => {
    const { page } = reader;
    const carl = await register(server.url, 'carl', 'Carl Caller');
    const chat = await createDirect(server.url, readerToken, carl.user.id);
    // Mine (seq 1) moves my own mark; Carl's 60 answers (seq 2-61) are unread.
    await postMessage(server.url, readerToken, chat.id, 'My question');
    for (let i = 1; i <= 60; i++) {
      await postMessage(server.url, carl.token, chat.id, `Answer ${String(i).padStart(2, '0')}`);
    }
    expect(await readMark(chat.id)).toBe(1);

    // Another window in front, as when several people share this browser in the e2e suite:
    // what a visible page shows still counts.
    const front = await browser.newPage();
    await front.bringToFront();
    await page.getByRole('button', { name: 'Back to chats' }).click();
    await openChat(page, 'Carl Caller');
    await visible(messageItem(page, 'Answer 60'));

    // It opens at "Unread messages", over Carl's first answer; the latest is far below.
    const divider = messages(page).getByText('Unread messages');
    await visible(divider);
    expect(await placeIn(page, 'Answer 01')).toBe('inside');
    expect(await placeIn(page, 'Answer 60')).toBe('below');

    // Only what was on screen is read, on the server too.
    await expect.poll(() => readMark(chat.id)).toBeGreaterThan(1);
    const seen = await highestOnScreen(page);
    expect(seen).toBeLessThan(61);
    await expect.poll(() => readMark(chat.id)).toBe(seen);

    // The rest waits below, counted on Jump to latest; jumping reads it all.
    const jump = page.getByRole('button', { name: /^Jump to latest, \d+ new messages$/ });
    await visible(jump);
    expect(await jump.textContent()).toMatch(new RegExp(`${61 - seen} new messages`));
    await jump.click();
    await expect.poll(() => fromEnd(page)).toBeLessThan(2);
    await expect.poll(() => readMark(chat.id)).toBe(61);

    // Scrolled up, a new message shows as one new message; it is not read until seen.
    await messages(page).evaluate((el) => el.scrollTo({ top: el.scrollHeight / 2 }));
    // Once the client has taken the scroll in (it offers the jump): a message arriving before
    // that would find it still at the end, and be shown and read there.
    await visible(page.getByRole('button', { name: 'Jump to latest', exact: true }));
    await postMessage(server.url, carl.token, chat.id, 'One more thing');
    await visible(page.getByRole('button', { name: 'Jump to latest, 1 new message' }));
    expect(await readMark(chat.id)).toBe(61);
    await page.getByRole('button', { name: 'Jump to latest, 1 new message' }).click();
    await expect.poll(() => readMark(chat.id)).toBe(62);
    await front.close();
  });
});
