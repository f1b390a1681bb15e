import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from './support/server.js';
import { PASSWORD, launchBrowser, signUp, tokenOf, visible } from './support/browser.js';

// Sessions as a person sees them: signing out reaches the server, "Sign out everywhere" ends
// the other devices' sessions while they are open, and the sign-up form explains refusals.

let server: TestServer;
let browser: Browser;

beforeAll(async () => {
  [server, browser] = await Promise.all([startServer(), launchBrowser()]);
});

afterAll(async () => {
  await browser?.close();
  await server?.dispose();
});

/** A second device: its own storage, signed in through the form. */
async function signIn(username: string): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await page.goto(server.url);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await visible(signOutButton(page));
  return page;
}

const signOutButton = (page: Page) => page.getByRole('button', { name: 'Sign out', exact: true });
const signedOut = (page: Page) => visible(page.getByRole('button', { name: 'Sign up' }));

async function meStatus(token: string): Promise<number> {
  const res = await fetch(`${server.url}/api/auth/me`, {
    headers: { authorization: `Bearer ${token}` },
  });
  return res.status;
}

describe('signing out', () => {
  it('"Sign out" ends the token on the server, not only in this browser', async () => {
    const { page } = await signUp(browser, server.url, 'gina', 'Gina');
    const token = await tokenOf(page);
    await signOutButton(page).click();
    await signedOut(page);
    expect(await page.evaluate(() => localStorage.getItem('parley.token'))).toBeNull();
    expect(await meStatus(token)).toBe(401);
  });

  it('"Sign out" still signs out of this browser when the server cannot be reached', async () => {
    const page = await signIn('gina');
    const token = await tokenOf(page);
    await page.route('**/api/auth/logout', (route) => route.abort());
    await signOutButton(page).click();
    await signedOut(page);
    expect(await page.evaluate(() => localStorage.getItem('parley.token'))).toBeNull();
    // The server never heard of it: that token alone still works.
    expect(await meStatus(token)).toBe(200);
  });

  it('"Sign out everywhere" returns the other open devices to sign-in, saying why', async () => {
    const phone = await signIn('gina');
    const laptop = await signIn('gina');
    const laptopToken = await tokenOf(laptop);
    await phone.getByRole('button', { name: 'Profile' }).click();
    await phone.getByRole('button', { name: 'Sign out everywhere' }).click();
    await signedOut(phone);
    // The laptop's socket is dropped by the server; it finds its session over and says so.
    await visible(laptop.getByRole('alert').filter({ hasText: 'Your session has ended' }));
    await signedOut(laptop);
    expect(await laptop.evaluate(() => localStorage.getItem('parley.token'))).toBeNull();
    expect(await meStatus(laptopToken)).toBe(401);
    // Signing in again works.
    await signIn('gina');
  });
});

describe('signing up', () => {
  it('explains a refused password at the field, in words', async () => {
    const page = await (await browser.newContext()).newPage();
    await page.goto(server.url);
    await page.getByLabel('Username').fill('hugo');
    const password = page.getByLabel('Password');
    // Refused by the server: the list of common passwords is not in the page.
    await password.fill('iloveyou');
    await page.getByRole('button', { name: 'Sign up' }).click();
    await visible(page.getByText('Password is one of the most common passwords', { exact: false }));
    expect(await password.getAttribute('aria-invalid')).toBe('true');
    // Refused before asking the server.
    await password.fill('hugo');
    await page.getByRole('button', { name: 'Sign up' }).click();
    await visible(page.getByText('Password must be at least 8 characters.'));
    // A good one goes through.
    await password.fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign up' }).click();
    await visible(signOutButton(page));
  });
});
