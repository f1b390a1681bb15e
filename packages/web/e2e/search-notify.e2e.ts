import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDirect, createGroup, postMessage, register } from './support/api.js';
import {
  chats,
  launchBrowser,
  messageItem,
  openChat,
  signUp,
  tokenOf,
  visible,
  type Person,
} from './support/browser.js';
import { startServer, type TestServer } from './support/server.js';

let server: TestServer;
let browser: Browser;
let jane: Person;
let kai: { token: string; id: string };
let lea: { token: string; id: string };
let direct: string;
let crew: string;

interface Shown {
  title: string;
  body: string;
}

beforeAll(async () => {
  [server, browser] = await Promise.all([startServer(), launchBrowser()]);
  jane = await signUp(browser, server.url, 'jane', 'Jane');
  const [k, l] = await Promise.all([
    register(server.url, 'kai', 'Kai'),
    register(server.url, 'lea', 'Lea'),
  ]);
  kai = { token: k.token, id: k.user.id };
  lea = { token: l.token, id: l.user.id };
  const janeId = await userId(jane.page);
  direct = (await createDirect(server.url, kai.token, janeId)).id;
  crew = (await createGroup(server.url, kai.token, 'Crew', [janeId, lea.id])).id;

  // Every Notification the page constructs is recorded (and still made), so that the test sees
  // what the person would; notifications can also be "clicked" from here.
  await jane.page.context().addInitScript(() => {
    const Native = window.Notification;
    const shown: Notification[] = [];
    class Recorded extends Native {
      constructor(title: string, options?: NotificationOptions) {
        super(title, options);
        shown.push(this);
      }
    }
    window.Notification = Recorded;
    (window as unknown as { __notifications: Notification[] }).__notifications = shown;
  });
  await jane.page.reload();
  await visible(chats(jane.page).getByRole('link', { name: /^Crew/ }));
});

afterAll(async () => {
  await browser?.close();
  await server?.dispose();
});

const notifications = (page: Page): Promise<Shown[]> =>
  page.evaluate(() =>
    (window as unknown as { __notifications: Notification[] }).__notifications.map((n) => ({
      title: n.title,
      body: n.body,
    })),
  );

const searchField = (page: Page): Locator =>
  page.getByRole('searchbox', { name: 'Search messages' });
const results = (page: Page): Locator => page.getByRole('list', { name: 'Search results' });

describe('searching messages', () => {
  it('finds words across chats and opens the chat at the message, loading history', async () => {
    await postMessage(server.url, kai.token, crew, 'The blue whale is the largest animal');
    for (let i = 1; i <= 70; i++) {
      await postMessage(server.url, lea.token, crew, `Crew chatter ${i}`, `chatter-${i}`);
    }
    await postMessage(server.url, kai.token, direct, 'Have you seen a whale yet?');
    await postMessage(server.url, kai.token, direct, 'Nothing to find here');

    await searchField(jane.page).fill('WHALE');
    const list = results(jane.page);
    await visible(list);
    // Newest first; chat names, senders, and the matched word emphasised.
    await expect
      .poll(async () => (await list.getByRole('button').allInnerTexts()).map(flat))
      .toEqual([
        expect.stringMatching(/^Kai .*Kai: Have you seen a whale yet\?$/),
        expect.stringMatching(/^Crew .*Kai: The blue whale is the largest animal$/),
      ]);
    expect(await list.locator('mark').allInnerTexts()).toEqual(['whale', 'whale']);

    // The group's match is 70 messages up: opening it loads history until it is there.
    await list.getByRole('button').filter({ hasText: 'blue whale' }).click();
    await visible(jane.page.getByRole('heading', { name: 'Crew', exact: true }));
    const target = messageItem(jane.page, 'The blue whale is the largest animal');
    await visible(target);
    await expect.poll(() => onScreen(target), { timeout: 15_000 }).toBe(true);

    // Seventy matches come a page at a time, newest first, without repeats.
    await searchField(jane.page).fill('chatter');
    const chatter = list.getByRole('button');
    await expect.poll(() => chatter.count()).toBe(20);
    await jane.page.getByRole('button', { name: 'Load more' }).click();
    await expect.poll(() => chatter.count()).toBe(40);
    const texts = (await chatter.allInnerTexts()).map((t) => /Crew chatter (\d+)/.exec(t)?.[1]);
    expect(texts).toEqual(Array.from({ length: 40 }, (_, i) => String(70 - i)));

    // Nothing matches: said in words.
    await searchField(jane.page).fill('platypus');
    await visible(jane.page.getByText('No messages match “platypus”.'));
    await searchField(jane.page).press('Escape');
    await visible(chats(jane.page));
  });
});

describe('notifications', () => {
  it('are turned on by the person, for a mention in a chat that is not open; a click opens it', async () => {
    const turnOn = jane.page.getByRole('button', { name: 'Turn on notifications' });
    await visible(turnOn);
    await jane.page.context().grantPermissions(['notifications'], { origin: server.url });
    await turnOn.click();
    await expect.poll(() => turnOn.count()).toBe(0);

    await openChat(jane.page, 'Kai');
    // Not a mention, in a group: no notification.
    await postMessage(server.url, lea.token, crew, 'Anyone up for a swim?');
    await visible(chats(jane.page).getByRole('link', { name: /^Crew.*Anyone up for a swim\?/ }));
    // A mention: one.
    await postMessage(server.url, lea.token, crew, '@jane are you coming along?');
    await expect
      .poll(() => notifications(jane.page), { timeout: 15_000 })
      .toEqual([
        { title: expect.stringMatching(/Lea/) as string, body: '@jane are you coming along?' },
      ]);
    expect((await notifications(jane.page))[0]!.title).toMatch(/Crew/);
    await visible(chats(jane.page).getByRole('link', { name: /^Crew, .*1 unread mention/ }));

    // A message in the open chat notifies nobody.
    await postMessage(server.url, kai.token, direct, 'I am right here');
    await visible(messageItem(jane.page, 'I am right here'));
    expect(await notifications(jane.page)).toHaveLength(1);

    // Clicking the notification opens its chat.
    await jane.page.evaluate(() => {
      const [n] = (window as unknown as { __notifications: Notification[] }).__notifications;
      n?.dispatchEvent(new Event('click'));
    });
    await visible(jane.page.getByRole('heading', { name: 'Crew', exact: true }));
    await visible(messageItem(jane.page, '@jane are you coming along?'));
  });

  it('stay silent for a muted chat', async () => {
    // Jane mutes Crew from its row in the chat list.
    await jane.page.getByRole('button', { name: 'Mute Crew', exact: true }).click();
    await visible(jane.page.getByRole('button', { name: 'Unmute Crew', exact: true }));
    await visible(chats(jane.page).getByRole('link', { name: /^Crew, .*muted$/ }));

    await openChat(jane.page, 'Kai');
    const before = (await notifications(jane.page)).length;
    await postMessage(server.url, lea.token, crew, '@jane last call for the boat');
    await visible(chats(jane.page).getByRole('link', { name: /^Crew.*last call for the boat/ }));
    // A direct message, while another chat is open, still notifies; the muted mention, received
    // before it, did not.
    await openChat(jane.page, 'Crew');
    await postMessage(server.url, kai.token, direct, 'Dinner at seven?');
    await expect.poll(() => notifications(jane.page), { timeout: 15_000 }).toHaveLength(before + 1);
    const all = await notifications(jane.page);
    expect(all.at(-1)).toEqual({ title: 'Kai', body: 'Dinner at seven?' });
    expect(all.map((n) => n.body)).not.toContain('@jane last call for the boat');
  });
});

const flat = (s: string) => s.replace(/\s+/g, ' ').trim();

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

async function userId(page: Page): Promise<string> {
  const token = await tokenOf(page);
  const response = await fetch(`${server.url}/api/auth/me`, {
    headers: { authorization: `Bearer ${token}` },
  });
  return ((await response.json()) as { user: { id: string } }).user.id;
}
