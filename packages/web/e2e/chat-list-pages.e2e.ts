import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGroup, postMessage } from './support/api.js';
import { startServer, type TestServer } from './support/server.js';
import {
  chats,
  launchBrowser,
  openChat,
  signUp,
  tokenOf,
  visible,
  type Person,
} from './support/browser.js';

const CHATS = 150;

let server: TestServer;
let browser: Browser;
let dana: Person;

beforeAll(async () => {
  [server, browser] = await Promise.all([
    // 150 chats in a minute is past the hourly allowance: the limit is not what is tested here.
    startServer({ env: { RATE_LIMIT_CHATS: '0' } }),
    launchBrowser(),
  ]);
  dana = await signUp(browser, server.url, 'dana', 'Dana');
});

afterAll(async () => {
  await browser?.close();
  await server?.dispose();
});

describe('a chat list longer than one page', () => {
  it(`shows the first page at once, the rest on "Load more chats"; a filter finds any of the ${CHATS}`, async () => {
    const token = await tokenOf(dana.page);
    const names = Array.from({ length: CHATS }, (_, i) => `Club ${String(i + 1).padStart(3, '0')}`);
    const ids: string[] = [];
    for (const name of names) ids.push((await createGroup(server.url, token, name)).id);
    // The oldest chat gets a message: it moves to the top, the second oldest is last now.
    await postMessage(server.url, token, ids[0]!, 'still here');

    await dana.page.reload();
    const links = chats(dana.page).getByRole('link');
    // One page of the server's (100): the oldest chats wait.
    await visible(links.first().filter({ hasText: 'Club 001' }));
    expect(await links.count()).toBe(100);
    const more = dana.page.getByRole('button', { name: 'Load more chats' });
    await visible(more);

    // The filter finds a chat that was not loaded: it loads the older pages itself.
    const filter = dana.page.getByRole('searchbox', { name: 'Filter chats' });
    await filter.fill('club 002');
    await expect.poll(() => links.allInnerTexts(), { timeout: 30_000 }).toHaveLength(1);
    await visible(links.first().filter({ hasText: 'Club 002' }));
    await filter.fill('');
    await expect.poll(() => links.count()).toBe(CHATS);
    await visible(links.last().filter({ hasText: 'Club 002' }));
    expect(await more.count()).toBe(0);

    // Without a filter, the button brings the rest. Clicked where it is: a real click scrolls it
    // into view first, and nearing the list's end loads the rest by itself, which can take the
    // button away before the click lands (it did in CI: the click then waited out its timeout).
    await dana.page.reload();
    await visible(links.first().filter({ hasText: 'Club 001' }));
    await more.dispatchEvent('click');
    await expect.poll(() => links.count(), { timeout: 30_000 }).toBe(CHATS);
    await openChat(dana.page, 'Club 002');
  });
});
