import {
  chromium,
  type Browser,
  type BrowserContextOptions,
  type Locator,
  type Page,
} from 'playwright-core';
import { expect } from 'vitest';

const WAIT_MS = 15_000;

/**
 * Debian's Chromium, headless, with the flags that keep it quiet in a container, and any `extra`
 * (the calls suite's fake camera and microphone).
 */
export function launchBrowser(extra: readonly string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      ...extra,
    ],
  });
}

export interface Person {
  username: string;
  displayName: string;
  password: string;
  page: Page;
}

export const PASSWORD = 'correct horse battery';

/**
 * A new browser context (its own storage), signed up through the form. `options` add to the
 * context's (`bypassCSP` for a suite that runs axe in it).
 */
export async function signUp(
  browser: Browser,
  baseUrl: string,
  username: string,
  displayName: string,
  viewport = { width: 1280, height: 800 },
  options: Omit<BrowserContextOptions, 'viewport'> = {},
): Promise<Person> {
  const context = await browser.newContext({ ...options, viewport });
  const page = await context.newPage();
  await page.goto(baseUrl);
  // With nothing typed yet, Sign up shows the sign-up form (with its Display name field).
  await page.getByRole('button', { name: 'Sign up' }).click();
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByLabel(/Display name/).fill(displayName);
  await page.getByRole('button', { name: 'Sign up' }).click();
  await visible(page.getByRole('button', { name: 'Sign out', exact: true }));
  return { username, displayName, password: PASSWORD, page };
}

export const messages = (page: Page): Locator => page.getByRole('list', { name: 'Messages' });
export const chats = (page: Page): Locator => page.getByRole('list', { name: 'Chats' });

/** The message list item holding `text` (exactly one must match). */
export const messageItem = (page: Page, text: string): Locator =>
  messages(page).getByRole('listitem').filter({ hasText: text });

export async function visible(locator: Locator, timeout = WAIT_MS): Promise<void> {
  await locator.waitFor({ state: 'visible', timeout });
}

export async function gone(locator: Locator, timeout = WAIT_MS): Promise<void> {
  await locator.waitFor({ state: 'detached', timeout });
}

/** Waits until the texts of all matches equal `expected` (order included). */
export async function texts(locator: Locator, expected: string[], timeout = WAIT_MS) {
  await expect
    .poll(async () => (await locator.allInnerTexts()).map((t) => t.trim()), { timeout })
    .toEqual(expected);
}

/** Waits until the element's text matches. */
export async function textOf(locator: Locator, expected: RegExp, timeout = WAIT_MS) {
  await expect.poll(async () => (await locator.innerText()).trim(), { timeout }).toMatch(expected);
}

export async function send(page: Page, text: string): Promise<void> {
  const field = page.getByRole('textbox', { name: 'Message' });
  await field.fill(text);
  await field.press('Enter');
  await visible(messageItem(page, text));
}

/**
 * A people-search result (an option named by the display name) picked by its @username, which
 * is its description: within a dialog, `@ben` and not `@benji`.
 */
export const personOption = (scope: Locator, username: string): Locator =>
  scope.getByRole('option').filter({
    has: scope.page().locator('.user-result-handle', { hasText: new RegExp(`^@${username}$`) }),
  });

/** Opens (or creates) the direct chat with `username` through the New chat dialog. */
export async function startDirectChat(page: Page, username: string): Promise<void> {
  await page.getByRole('button', { name: 'New chat' }).click();
  const dialog = page.getByRole('dialog', { name: 'New chat' });
  await dialog.getByLabel('Search users').fill(username);
  await personOption(dialog, username).click();
  await gone(dialog);
}

/** Opens a chat from the list by the start of its name. */
export async function openChat(page: Page, name: string): Promise<void> {
  await chats(page)
    .getByRole('link', { name: new RegExp(`^${name}`) })
    .click();
  await visible(page.getByRole('heading', { name, exact: true }));
}

export async function tokenOf(page: Page): Promise<string> {
  const token = await page.evaluate(() => localStorage.getItem('parley.token'));
  if (!token) throw new Error('No session token in this page');
  return token;
}

// The axe helpers live in support/axe.ts; re-exported for files that import them from here.
export { axeViolations, type AxeViolation } from './axe.js';
