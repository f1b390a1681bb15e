import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGroup, register } from './support/api.js';
import { seriousAxeViolations } from './support/axe.js';
import {
  chats,
  gone,
  launchBrowser,
  messageItem,
  openChat,
  textOf,
  visible,
} from './support/browser.js';
import { startServer, type TestServer } from './support/server.js';

// Group management as people do it, each in their own browser: the owner renames and makes
// someone admin, the admin removes someone, a member leaves, the owner leaves and the group
// passes on. Every change reaches the others live (chat:updated, chat:removed, system lines).

const DESKTOP = { viewport: { width: 1280, height: 800 } };
const PHONE = { viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true };

let server: TestServer;
let browser: Browser;
let ana: Page; // the owner
let ben: Page; // a member, removed by the admin
let cleo: Page; // a member on a phone, who leaves
let dev: Page; // a member made admin, who inherits the group

/** A signed-in page for the token (bypassCSP: axe is injected as an inline script). */
async function signedIn(token: string, options: typeof DESKTOP | typeof PHONE): Promise<Page> {
  const context = await browser.newContext({ ...options, bypassCSP: true });
  const page = await context.newPage();
  await page.goto(server.url);
  await page.evaluate((t) => localStorage.setItem('parley.token', t), token);
  await page.goto(server.url);
  // A first load on a busy machine (two cores, several suites) may take a while.
  await visible(chats(page).getByRole('link', { name: /^Crew/ }), 60_000);
  return page;
}

const button = (scope: Page | Locator, name: string) =>
  scope.getByRole('button', { name, exact: true });
const membersDialog = (page: Page) => page.getByRole('dialog', { name: /^Members of / });
const row = (dialog: Locator, username: string) =>
  dialog
    .getByRole('list', { name: 'Members' })
    .getByRole('listitem')
    .filter({ hasText: `@${username}` });

async function openMembers(page: Page): Promise<Locator> {
  await button(page, 'Members').click();
  const dialog = membersDialog(page);
  await visible(dialog);
  return dialog;
}

beforeAll(async () => {
  [server, browser] = await Promise.all([startServer(), launchBrowser()]);
  const [a, b, c, d, e] = await Promise.all([
    register(server.url, 'ana', 'Ana'),
    register(server.url, 'ben', 'Ben'),
    register(server.url, 'cleo', 'Cleo'),
    register(server.url, 'dev', 'Dev'),
    // Erin has no browser: a plain member who stays, so that the heir is chosen among two.
    register(server.url, 'erin', 'Erin'),
  ]);
  await createGroup(
    server.url,
    a.token,
    'Crew',
    [b, c, d, e].map((x) => x.user.id),
  );
  // One after the other: four pages loading at once on two cores starve each other.
  ana = await signedIn(a.token, DESKTOP);
  ben = await signedIn(b.token, DESKTOP);
  cleo = await signedIn(c.token, PHONE);
  dev = await signedIn(d.token, DESKTOP);
  for (const page of [ana, ben, cleo, dev]) await openChat(page, 'Crew');
});

afterAll(async () => {
  await browser?.close();
  await server?.dispose();
});

describe('managing a group', () => {
  it('the owner renames it; the others see the new name and the line about it, live', async () => {
    await button(ana, 'Rename group').click();
    const dialog = ana.getByRole('dialog', { name: 'Rename group' });
    const field = dialog.getByLabel('Group name');
    expect(await field.inputValue()).toBe('Crew');
    await field.fill('   ');
    await button(dialog, 'Save').click();
    await textOf(dialog.getByRole('alert'), /^Give the group a name\.$/);
    expect(await seriousAxeViolations(ana, 'Rename group dialog, with an error')).toEqual([]);

    await field.fill('Crew 2026');
    await button(dialog, 'Save').click();
    await gone(dialog);
    await visible(ana.getByRole('heading', { name: 'Crew 2026', exact: true }));
    // Focus returns to the button that opened the dialog.
    expect(await ana.evaluate(() => document.activeElement?.textContent)).toBe('Rename group');

    await visible(ben.getByRole('heading', { name: 'Crew 2026', exact: true }));
    await visible(messageItem(ben, 'Ana renamed the group to “Crew 2026”'));
    await visible(chats(ben).getByRole('link', { name: /^Crew 2026/ }));
  });

  it('a member sees roles but no controls; the owner makes them admin and their list follows', async () => {
    const seen = await openMembers(dev);
    await visible(row(seen, 'ana').getByText('Owner', { exact: true }));
    expect(await seen.getByRole('button', { name: /^(Make|Remove)/ }).count()).toBe(0);

    const dialog = await openMembers(ana);
    await visible(row(dialog, 'dev').getByText('online'));
    expect(await row(dialog, 'ana').getByRole('button').count()).toBe(0);
    expect(await seriousAxeViolations(ana, 'Members dialog of the owner')).toEqual([]);
    await button(row(dialog, 'dev'), 'Make admin').click();
    await visible(button(row(dialog, 'dev'), 'Make member'));
    await visible(row(dialog, 'dev').getByText('Admin', { exact: true }));

    // Dev's own open list: the role, and now Remove from group beside everyone but the owner.
    await visible(row(seen, 'dev').getByText('Admin', { exact: true }));
    for (const username of ['ben', 'cleo', 'erin']) {
      await visible(button(row(seen, username), 'Remove from group'));
    }
    expect(await button(row(seen, 'ana'), 'Remove from group').count()).toBe(0);
    expect(await seen.getByRole('button', { name: /^Make/ }).count()).toBe(0);
    await button(dialog, 'Close').click();
    await gone(dialog);
  });

  it('the admin removes someone: their chat disappears live, everyone reads who did it', async () => {
    // Ben is looking at the members when it happens.
    const bensList = await openMembers(ben);
    const dialog = membersDialog(dev);
    await button(row(dialog, 'ben'), 'Remove from group').click();
    await visible(row(dialog, 'ben').getByText('Remove Ben (@ben) from the group?'));
    await button(row(dialog, 'ben'), 'Remove').click();
    await gone(row(dialog, 'ben'));

    await gone(bensList);
    await gone(ben.getByRole('heading', { name: 'Crew 2026', exact: true }));
    // The dialog went with the chat, and the page behind it is usable again.
    expect(await ben.locator('[inert]').count()).toBe(0);
    await gone(chats(ben).getByRole('link', { name: /^Crew 2026/ }));
    await visible(ben.getByRole('alert').getByText('You are no longer in “Crew 2026”.'));

    await visible(messageItem(ana, 'Dev removed Ben'));
    await textOf(
      ana.getByText(/members:/),
      /^4 members: You, Cleo \(@cleo\), Dev \(@dev\), Erin \(@erin\)$/,
    );
  });

  it('a member on a phone leaves after a confirmation: the chat closes and leaves the list', async () => {
    const members = await openMembers(cleo);
    expect(await seriousAxeViolations(cleo, 'Members dialog of a member, phone')).toEqual([]);
    await button(members, 'Close').click();
    await gone(members);

    await button(cleo, 'Leave group').click();
    const dialog = cleo.getByRole('dialog', { name: 'Leave “Crew 2026”?' });
    await visible(dialog.getByText(/leaves your chat list/));
    expect(await dialog.getByText(/You own this group/).count()).toBe(0);
    expect(await seriousAxeViolations(cleo, 'Leave group dialog, phone')).toEqual([]);
    await button(dialog, 'Leave group').click();
    await gone(dialog);
    await gone(cleo.getByRole('heading', { name: 'Crew 2026', exact: true }));
    // On a phone the list is back in place of the chat; its one chat is gone from it.
    await visible(button(cleo, 'New chat'));
    expect(await cleo.getByRole('link', { name: /^Crew 2026/ }).count()).toBe(0);
    await visible(cleo.getByRole('alert').getByText('You left “Crew 2026”.'));
    // Focus is not lost with the chat: it lands on the list.
    expect(await cleo.evaluate(() => document.activeElement?.id)).toBe('chat-list');

    await visible(messageItem(ana, 'Cleo left'));
    await gone(row(membersDialog(dev), 'cleo'));
  });

  it('the owner leaves: told who inherits, the group passes to its admin', async () => {
    await button(ana, 'Leave group').click();
    const dialog = ana.getByRole('dialog', { name: 'Leave “Crew 2026”?' });
    // Erin is a member as long-standing as Dev: the admin comes first.
    await visible(
      dialog.getByText(
        'You own this group. When you leave, it passes to Dev (@dev), its longest-standing admin, who becomes its owner.',
      ),
    );
    await button(dialog, 'Leave group').click();
    await gone(dialog);
    expect(
      await chats(ana)
        .getByRole('link', { name: /^Crew 2026/ })
        .count(),
    ).toBe(0);

    const members = membersDialog(dev);
    await visible(row(members, 'dev').getByText('Owner', { exact: true }));
    await gone(row(members, 'ana'));
    // The owner's controls, live: Erin can now be made an admin.
    await visible(button(row(members, 'erin'), 'Make admin'));
    await visible(messageItem(dev, 'Ana left'));
    await button(members, 'Close').click();
    await visible(button(dev, 'Rename group'));
  });
});
