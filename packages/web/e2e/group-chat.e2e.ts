import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { startServer, type TestServer } from './support/server.js';
import {
  chats,
  gone,
  launchBrowser,
  messageItem,
  openChat,
  send,
  signUp,
  textOf,
  visible,
  type Person,
  personOption,
} from './support/browser.js';

let server: TestServer;
let browser: Browser;
let [ana, ben, cleo, dev]: Person[] = [];

beforeAll(async () => {
  [server, browser] = await Promise.all([startServer(), launchBrowser()]);
  [ana, ben, cleo, dev] = await Promise.all([
    signUp(browser, server.url, 'ana', 'Ana'),
    signUp(browser, server.url, 'ben', 'Ben'),
    signUp(browser, server.url, 'cleo', 'Cleo'),
    // A phone-sized screen: one pane at a time.
    signUp(browser, server.url, 'dev', 'Dev', { width: 390, height: 760 }),
  ]);
});

afterAll(async () => {
  await browser?.close();
  await server?.dispose();
});

describe('a group of three', () => {
  it('is created from the New group dialog and appears for everyone in it', async () => {
    const page = ana!.page;
    await page.getByRole('button', { name: 'New group' }).click();
    const dialog = page.getByRole('dialog', { name: 'New group' });
    await dialog.getByLabel('Group name').fill('Road trip');
    for (const username of ['ben', 'cleo']) {
      await dialog.getByLabel('Search users').fill(username);
      const toggle = personOption(dialog, username);
      await toggle.click();
      await textOf(dialog.getByText(/picked/), new RegExp(username, 'i'));
      if ((await toggle.getAttribute('aria-selected')) !== 'true') {
        throw new Error(`${username} is not marked as picked`);
      }
    }
    await dialog.getByRole('button', { name: 'Create group' }).click();
    await gone(dialog);
    await visible(page.getByRole('heading', { name: 'Road trip' }));

    for (const person of [ben!, cleo!]) {
      await visible(chats(person.page).getByRole('link', { name: /^Road trip/ }));
    }
    await visible(page.getByRole('button', { name: 'Add people' }));
  });

  it('carries everyone’s messages to everyone, with "Seen by N"', async () => {
    await send(ana!.page, 'Who is driving?');
    await openChat(ben!.page, 'Road trip');
    await send(ben!.page, 'I can drive.');
    await openChat(cleo!.page, 'Road trip');
    await send(cleo!.page, 'I’ll bring snacks.');
    for (const person of [ana!, ben!, cleo!]) {
      for (const text of ['Who is driving?', 'I can drive.', 'I’ll bring snacks.']) {
        await visible(messageItem(person.page, text));
      }
    }
    // Sender names head each group of messages.
    await visible(messageItem(ana!.page, 'I can drive.').getByText('Ben', { exact: true }));

    await send(ana!.page, 'Great team!');
    await visible(messageItem(ana!.page, 'Great team!').getByText('Seen by 2', { exact: true }));

    // Typing in a group names the typist.
    await ben!.page.getByRole('textbox', { name: 'Message' }).pressSequentially('Leaving at');
    await visible(cleo!.page.getByText('ben is typing'));
    await visible(ana!.page.getByText('ben is typing'));
  });

  it('adds people: the newcomer gets the chat at once, with its history', async () => {
    await ana!.page.getByRole('button', { name: 'Add people' }).click();
    const dialog = ana!.page.getByRole('dialog', { name: /^Add people/ });
    await dialog.getByLabel('Search users').fill('dev');
    await personOption(dialog, 'dev').click();
    await gone(dialog);

    // Everyone sees the new member count (chat:updated); Dev sees the chat (chat:new).
    await textOf(
      ben!.page.getByText(/members:/),
      /^4 members: You, Ana \(@ana\), Cleo \(@cleo\), Dev \(@dev\)$/,
    );
    const entry = chats(dev!.page).getByRole('link', { name: /^Road trip/ });
    await visible(entry);
    await entry.click();
    await visible(messageItem(dev!.page, 'Who is driving?'));
    await send(dev!.page, 'Room for one more?');
    for (const person of [ana!, ben!, cleo!]) {
      await visible(messageItem(person.page, 'Room for one more?'));
    }

    // On a phone, Back returns to the list.
    await dev!.page.getByRole('button', { name: 'Back to chats' }).click();
    await visible(chats(dev!.page));
  });
});
