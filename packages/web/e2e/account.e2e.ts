import type { AuthResponse } from '@parley/protocol';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDirect, createGroup, postMessage, register } from './support/api.js';
import {
  PASSWORD,
  axeViolations,
  chats,
  gone,
  launchBrowser,
  messageItem,
  openChat,
  send,
  textOf,
  tokenOf,
  visible,
} from './support/browser.js';
import { startServer, type TestServer } from './support/server.js';

// The account as its owner sees it: signing up from the keyboard, refusals in words at their
// field, and the Profile dialog (display name, password, blocked users, signing out everywhere),
// whose changes others see and whose password change keeps this session going.

let server: TestServer;
let browser: Browser;

beforeAll(async () => {
  [server, browser] = await Promise.all([startServer(), launchBrowser()]);
});

afterAll(async () => {
  await browser?.close();
  await server?.dispose();
});

const SIZES = {
  desktop: { width: 1280, height: 800 },
  phone: { width: 390, height: 844 },
} as const;

/** A fresh browser context (its own storage) on the sign-in form. axe needs CSP bypassed. */
async function freshPage(viewport: { width: number; height: number } = SIZES.desktop) {
  const context = await browser.newContext({ viewport, bypassCSP: true });
  const page = await context.newPage();
  await page.goto(server.url);
  await visible(page.getByLabel('Username'));
  return page;
}

const signOutButton = (page: Page) => page.getByRole('button', { name: 'Sign out', exact: true });

async function signIn(page: Page, username: string, password: string): Promise<void> {
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByLabel('Password').press('Enter');
}

/** A signed-in page of a user registered through the API. */
async function signedIn(user: AuthResponse, viewport?: { width: number; height: number }) {
  const page = await freshPage(viewport);
  await page.evaluate((token) => localStorage.setItem('parley.token', token), user.token);
  await page.goto(server.url);
  await visible(signOutButton(page));
  return page;
}

async function openProfile(page: Page) {
  await page.getByRole('button', { name: 'Profile', exact: true }).click();
  const dialog = page.getByRole('dialog', { name: 'Profile' });
  await visible(dialog);
  return dialog;
}

/** The words that describe a field (aria-describedby), once it is marked invalid. */
async function refusalOf(page: Page, label: string): Promise<string> {
  const field = page.getByLabel(label, { exact: true });
  await expect.poll(() => field.getAttribute('aria-invalid')).toBe('true');
  return field.evaluate((el) =>
    (el.getAttribute('aria-describedby') ?? '')
      .split(' ')
      .map((id) => document.getElementById(id)?.textContent ?? '')
      .join(' '),
  );
}

async function meStatus(token: string): Promise<number> {
  const res = await fetch(`${server.url}/api/auth/me`, {
    headers: { authorization: `Bearer ${token}` },
  });
  return res.status;
}

describe('signing up', () => {
  it('signs up with Enter in the sign-up form, and tells password managers it is a new password', async () => {
    const page = await freshPage();
    await page.getByRole('button', { name: 'Sign up' }).click();
    expect(await page.getByLabel('Password').getAttribute('autocomplete')).toBe('new-password');
    await page.getByLabel('Username').fill('erin');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByLabel(/Display name/).fill('Erin Okafor');
    await page.getByLabel(/Display name/).press('Enter');
    await visible(signOutButton(page));
    await textOf(page.locator('.me-name'), /^Erin Okafor$/);
    await page.context().close();
  });

  it('says at the field, in words, why a sign-up was refused', async () => {
    await register(server.url, 'taken', 'Taken Name');
    const page = await freshPage();
    await page.getByLabel('Username').fill('taken');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign up' }).click();
    expect(await refusalOf(page, 'Username')).toContain(
      'That username is taken. Pick another, or sign in.',
    );
    // Fixed, and Enter: the refused sign-up is tried again, never a sign-in.
    await page.getByLabel('Username').fill('taken2');
    await page.getByLabel('Password').fill('iloveyou');
    await page.getByLabel('Password').press('Enter');
    expect(await refusalOf(page, 'Password')).toContain(
      'Password is one of the most common passwords',
    );
    const words = await page.locator('main').innerText();
    expect(words).not.toMatch(/body\.|email|Wrong username or password/i);
    await page.context().close();
  });
});

describe('the Profile dialog', () => {
  let alice: AuthResponse;
  let bob: AuthResponse;

  beforeAll(async () => {
    alice = await register(server.url, 'alice', 'Alice Martin');
    bob = await register(server.url, 'bob', 'Bob Stone');
    const direct = await createDirect(server.url, alice.token, bob.user.id);
    const group = await createGroup(server.url, bob.token, 'Book club', [alice.user.id]);
    await postMessage(server.url, alice.token, direct.id, 'Hello Bob');
    await postMessage(server.url, alice.token, group.id, 'Chapter three tonight?');
  });

  it('refuses a wrong current password and a short new one, in words at each field', async () => {
    const page = await signedIn(alice);
    const dialog = await openProfile(page);
    await dialog.getByLabel('Current password').fill('not my password');
    await dialog.getByLabel('New password').fill('a brand new passphrase');
    await dialog.getByRole('button', { name: 'Change password' }).click();
    expect(await refusalOf(page, 'Current password')).toBe('That is not your current password.');
    await dialog.getByLabel('Current password').fill(PASSWORD);
    await dialog.getByLabel('New password').fill('short');
    await dialog.getByLabel('New password').press('Enter');
    expect(await refusalOf(page, 'New password')).toContain(
      'New password must be at least 8 characters.',
    );
    expect(await dialog.innerText()).not.toContain('body.');
    // Nothing changed: the old password still signs in.
    expect(await meStatus(await tokenOf(page))).toBe(200);
    await page.context().close();
  });

  it('changes the display name: at once in the header, and for others in what they load', async () => {
    const page = await signedIn(alice);
    const bobPage = await signedIn(bob);
    await visible(chats(bobPage).getByRole('link', { name: /^Alice Martin/ }));

    const dialog = await openProfile(page);
    const name = dialog.getByLabel('Display name');
    await name.fill('Alice Cooper');
    await name.press('Enter');
    await visible(dialog.getByText('Display name saved.'));
    // Behind the dialog, the header already says it.
    await textOf(page.locator('.me-name'), /^Alice Cooper$/);
    await page.keyboard.press('Escape');
    await gone(dialog);
    await visible(page.getByRole('heading', { name: 'Welcome, Alice Cooper' }));

    // Bob's client learns it with the chats it loads next: the list, and the group's sender.
    await bobPage.reload();
    await visible(chats(bobPage).getByRole('link', { name: /^Alice Cooper/ }));
    await openChat(bobPage, 'Book club');
    await textOf(
      messageItem(bobPage, 'Chapter three tonight?').locator('.sender-name'),
      /^Alice Cooper$/,
    );
    await page.context().close();
    await bobPage.context().close();
  });

  it('changes the password: this session goes on, other devices and the old password end', async () => {
    const laptop = await signedIn(alice);
    const phone = await signedIn(alice, SIZES.phone);
    const oldToken = await tokenOf(laptop);
    const bobPage = await signedIn(bob);
    await openChat(bobPage, 'Book club');

    const dialog = await openProfile(laptop);
    await dialog.getByLabel('Current password').fill(PASSWORD);
    await dialog.getByLabel('New password').fill('a brand new passphrase');
    await dialog.getByLabel('New password').press('Enter');
    await visible(dialog.getByText('Password changed. Your other devices are signed out.'));
    await laptop.keyboard.press('Escape');
    await gone(dialog);

    // The laptop keeps working, over a socket opened with the new token: Bob gets its message.
    const newToken = await tokenOf(laptop);
    expect(newToken).not.toBe(oldToken);
    expect(await meStatus(oldToken)).toBe(401);
    expect(await meStatus(newToken)).toBe(200);
    await openChat(laptop, 'Book club');
    await send(laptop, 'Sent after the password change');
    await visible(messageItem(bobPage, 'Sent after the password change'));
    await laptop.reload();
    await visible(signOutButton(laptop));

    // The phone, signed in before the change, is returned to the sign-in form, saying why.
    await visible(phone.getByRole('alert').filter({ hasText: 'Your session has ended' }));

    // A fresh browser: the old password is refused, the new one signs in.
    const fresh = await freshPage();
    await signIn(fresh, 'alice', PASSWORD);
    await visible(fresh.getByRole('alert').filter({ hasText: 'Wrong username or password.' }));
    await signIn(fresh, 'alice', 'a brand new passphrase');
    await visible(signOutButton(fresh));
    for (const page of [laptop, phone, bobPage, fresh]) await page.context().close();
  });

  it.each(Object.keys(SIZES) as (keyof typeof SIZES)[])(
    'passes axe in light and dark at %s size, with a blocked user and a refusal showing',
    async (size) => {
      const user = await register(server.url, `axe_${size}`, `Axe ${size}`);
      await fetch(`${server.url}/api/users/${bob.user.id}/block`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${user.token}` },
      });
      const page = await signedIn(user, SIZES[size]);
      const dialog = await openProfile(page);
      await visible(dialog.getByRole('button', { name: 'Unblock bob' }));
      await dialog.getByLabel('New password').fill('short');
      await dialog.getByRole('button', { name: 'Change password' }).click();
      await refusalOf(page, 'Current password');
      const failing: string[] = [];
      for (const colorScheme of ['light', 'dark'] as const) {
        await page.emulateMedia({ colorScheme, reducedMotion: 'reduce' });
        for (const v of await axeViolations(page)) {
          if (v.impact === 'serious' || v.impact === 'critical') {
            failing.push(`${colorScheme}: ${v.impact} ${v.id}: ${v.nodes.join('; ')}`);
          }
        }
      }
      expect(failing).toEqual([]);
      await page.context().close();
    },
  );

  it('keeps the @username under the name readable (AA) in both themes, even a long one', async () => {
    const user = await register(server.url, 'maximiliana_long_username_32', 'Maximiliana');
    for (const viewport of Object.values(SIZES)) {
      const page = await signedIn(user, viewport);
      for (const colorScheme of ['light', 'dark'] as const) {
        await page.emulateMedia({ colorScheme });
        const handle = page.locator('.me-handle');
        const contrast = await handle.evaluate(contrastOnSidebar);
        expect(contrast, `${colorScheme} at ${viewport.width} px`).toBeGreaterThanOrEqual(4.5);
        // Cut with an ellipsis, never over the buttons beside it.
        const box = await handle.boundingBox();
        const button = await page
          .getByRole('button', { name: 'Profile', exact: true })
          .boundingBox();
        expect((box?.x ?? 0) + (box?.width ?? 0)).toBeLessThanOrEqual(button?.x ?? 0);
      }
      const violations = await axeViolations(page);
      expect(
        violations.filter((v) => v.id === 'color-contrast' && v.nodes.join().includes('me-handle')),
      ).toEqual([]);
      await page.context().close();
    }
  });
});

/** The WCAG contrast ratio of the element's text on the sidebar's background (runs in the page). */
function contrastOnSidebar(el: Element): number {
  const rgb = (css: string) => (css.match(/\d+(\.\d+)?/g) ?? []).slice(0, 3).map(Number);
  const luminance = (css: string) => {
    const [r = 0, g = 0, b = 0] = rgb(css).map((c) => {
      const s = c / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const fg = luminance(getComputedStyle(el).color);
  const sidebar = el.closest('.sidebar');
  const bg = luminance(sidebar ? getComputedStyle(sidebar).backgroundColor : 'rgb(255,255,255)');
  return (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
}
