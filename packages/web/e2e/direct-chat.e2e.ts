import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MESSAGE_MAX_LENGTH } from '@parley/protocol';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from './support/server.js';
import {
  chats,
  gone,
  launchBrowser,
  messageItem,
  messages,
  openChat,
  send,
  signUp,
  startDirectChat,
  textOf,
  texts,
  visible,
  type Person,
} from './support/browser.js';

const screenshotPath = fileURLToPath(new URL('../../../docs/screenshot.png', import.meta.url));

let server: TestServer;
let browser: Browser;
let alice: Person;
let bruno: Person;

beforeAll(async () => {
  [server, browser] = await Promise.all([startServer(), launchBrowser()]);
  alice = await signUp(browser, server.url, 'alice', 'Alice Martin');
  bruno = await signUp(browser, server.url, 'bruno', 'Bruno Costa');
});

afterAll(async () => {
  await browser?.close();
  await server?.dispose();
});

// The tests of this file run in order and share the two people and their conversation.
describe('a direct chat between two people', () => {
  it('starts from a user search and reaches the other person at once', async () => {
    await startDirectChat(alice.page, 'bruno');
    await visible(alice.page.getByRole('heading', { name: 'Bruno Costa' }));
    await visible(alice.page.getByText('online', { exact: true }));
    await send(alice.page, 'Hi Bruno! Are you around this weekend?');

    // Bruno did nothing: the chat appears in his list (chat:new) with its last message.
    const entry = chats(bruno.page).getByRole('link', { name: /^Alice Martin/ });
    await visible(entry);
    await textOf(entry, /Are you around this weekend\?/);
  });

  it('delivers messages both ways, shows typing and the read receipt', async () => {
    await openChat(bruno.page, 'Alice Martin');
    await visible(messageItem(bruno.page, 'Hi Bruno! Are you around this weekend?'));

    // Bruno has read it: Alice sees "Seen" under her message.
    await visible(messageItem(alice.page, 'Are you around').getByText('Seen', { exact: true }));

    // Bruno types: Alice is told, and the notice clears when he sends.
    const field = bruno.page.getByRole('textbox', { name: 'Message' });
    await field.pressSequentially('Yes! Saturday', { delay: 20 });
    const typing = alice.page.getByText('Bruno Costa is typing');
    await visible(typing);
    await field.pressSequentially(' works for me.', { delay: 10 });
    await field.press('Enter');
    await visible(messageItem(alice.page, 'Yes! Saturday works for me.'));
    await gone(typing);

    // Shift+Enter breaks the line instead of sending.
    const aliceField = alice.page.getByRole('textbox', { name: 'Message' });
    await aliceField.fill('Great.');
    await aliceField.press('Shift+Enter');
    await aliceField.pressSequentially('Climbing at 10?');
    expect(await aliceField.inputValue()).toBe('Great.\nClimbing at 10?');
    await alice.page.getByRole('button', { name: 'Send' }).click();
    await visible(messageItem(bruno.page, 'Climbing at 10?'));
    await send(bruno.page, 'Perfect, I’ll bring the rope and snacks.');
    await send(alice.page, 'See you there!');

    const expected = [
      'Hi Bruno! Are you around this weekend?',
      'Yes! Saturday works for me.',
      'Great.\nClimbing at 10?',
      'Perfect, I’ll bring the rope and snacks.',
      'See you there!',
    ];
    for (const person of [alice, bruno]) {
      await texts(messages(person.page).getByRole('listitem').locator('.text'), expected);
    }
    await visible(messageItem(alice.page, 'See you there!').getByText('Seen', { exact: true }));

    await mkdir(dirname(screenshotPath), { recursive: true });
    await alice.page.mouse.move(800, 200);
    await alice.page.screenshot({ path: screenshotPath });
  });

  it('keeps the session and the history across a reload', async () => {
    await alice.page.reload();
    await visible(alice.page.getByRole('button', { name: 'Sign out', exact: true }));
    // The open chat is in the address, so it is still open, with its history.
    await visible(alice.page.getByRole('heading', { name: 'Bruno Costa' }));
    await visible(messageItem(alice.page, 'Hi Bruno! Are you around this weekend?'));
    await visible(messageItem(alice.page, 'See you there!'));
    // And from the list, after going home.
    await alice.page.goto(server.url);
    await openChat(alice.page, 'Bruno Costa');
    await visible(messageItem(alice.page, 'Yes! Saturday works for me.'));
  });

  it(`refuses a message over ${MESSAGE_MAX_LENGTH} characters and says it is too long`, async () => {
    const field = alice.page.getByRole('textbox', { name: 'Message' });
    const before = await messages(alice.page).getByRole('listitem').count();
    await field.fill('a'.repeat(MESSAGE_MAX_LENGTH + 1));
    await alice.page.getByRole('button', { name: 'Send' }).click();
    await visible(alice.page.getByText(/too long/));
    expect(await messages(alice.page).getByRole('listitem').count()).toBe(before);
    expect(await messages(bruno.page).getByRole('listitem').count()).toBe(before);
    // Trimmed to the limit, it goes.
    await field.fill('b'.repeat(MESSAGE_MAX_LENGTH));
    await field.press('Enter');
    await gone(alice.page.getByText(/too long/));
    await visible(messageItem(bruno.page, 'b'.repeat(MESSAGE_MAX_LENGTH)));
  });

  it('shows the other person as last seen once they close the page', async () => {
    await visible(alice.page.getByText('online', { exact: true }));
    await bruno.page.context().close();
    await visible(alice.page.getByText(/^last seen/));
  });

  it('signs out', async () => {
    await alice.page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await visible(alice.page.getByRole('button', { name: 'Sign in' }));
    await alice.page.reload();
    await visible(alice.page.getByLabel('Username'));
    // And back in with the password.
    await alice.page.getByLabel('Username').fill('alice');
    await alice.page.getByLabel('Password').fill(alice.password);
    await alice.page.getByRole('button', { name: 'Sign in' }).click();
    await visible(chats(alice.page).getByRole('link', { name: /^Bruno Costa/ }));
  });

  it('is usable from the keyboard alone', async () => {
    const page = alice.page;
    await page.getByRole('button', { name: 'New chat' }).focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'New chat' });
    await visible(dialog);
    // Focus starts in the search field; the first result is the active option, Enter opens it.
    await page.keyboard.type('bru');
    await visible(dialog.getByRole('option', { name: 'Bruno Costa', selected: true }));
    await page.keyboard.press('Enter');
    await gone(dialog);
    await visible(page.getByRole('heading', { name: 'Bruno Costa' }));
    // The cursor is in the composer: type and send.
    await page.keyboard.type('Typed without a mouse');
    await page.keyboard.press('Enter');
    await visible(messageItem(page, 'Typed without a mouse'));

    // Escape closes a dialog and gives focus back to the button that opened it.
    await page.getByRole('button', { name: 'New group' }).focus();
    await page.keyboard.press('Enter');
    await visible(page.getByRole('dialog', { name: 'New group' }));
    await page.keyboard.press('Escape');
    await gone(page.getByRole('dialog', { name: 'New group' }));
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('New group');
  });

  it('leaves the chat, and opening it again brings it back with its history', async () => {
    const page = alice.page;
    await page.getByRole('button', { name: 'Leave chat' }).click();
    const dialog = page.getByRole('dialog', { name: 'Leave “Bruno Costa”?' });
    await visible(dialog.getByText(/brings it back with its history/));
    await dialog.getByRole('button', { name: 'Leave chat' }).click();
    await gone(dialog);
    await gone(page.getByRole('heading', { name: 'Bruno Costa' }));
    await visible(page.getByRole('alert').getByText('You left “Bruno Costa”.'));
    expect(
      await chats(page)
        .getByRole('link', { name: /^Bruno Costa/ })
        .count(),
    ).toBe(0);

    await startDirectChat(page, 'bruno');
    await visible(page.getByRole('heading', { name: 'Bruno Costa' }));
    await visible(messageItem(page, 'Typed without a mouse'));
    await visible(messageItem(page, 'Alice Martin left'));
    await visible(chats(page).getByRole('link', { name: /^Bruno Costa/ }));
  });
});
