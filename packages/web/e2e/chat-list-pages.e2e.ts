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
  it(`shows all ${CHATS} chats, oldest included, after a reload`, async () => {
    const token = await tokenOf(dana.page);
    const names = Array.from({ length: CHATS }, (_, i) => `Club ${String(i + 1).padStart(3, '0')}`);
    const ids: string[] = [];
    for (const name of names) ids.push((await createGroup(server.url, token, name)).id);
    // The oldest chat gets a message: it moves to the top, the second oldest is last now.
    await postMessage(server.url, token, ids[0]!, 'still here');

    await dana.page.reload();
    const links = chats(dana.page).getByRole('link');
    await expect.poll(() => links.count(), { timeout: 30_000 }).toBe(CHATS);
    await visible(links.first().filter({ hasText: 'Club 001' }));
    await visible(links.last().filter({ hasText: 'Club 002' }));
    await openChat(dana.page, 'Club 002');
  });
});
