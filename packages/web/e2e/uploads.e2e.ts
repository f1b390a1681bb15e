import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Browser, Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDirect, register } from './support/api.js';
import {
  axeViolations,
  chats,
  launchBrowser,
  messageItem,
  messages,
  openChat,
  visible,
} from './support/browser.js';
import { startServer, type TestServer } from './support/server.js';

// Attachments in the browser: a picture and a file go from one person's composer to the other's
// screen, over the socket in chunks; a file over MAX_UPLOAD_BYTES is refused in words before a
// byte is sent; the composer with files pending passes axe in both themes.

/** 10 MiB: small enough to refuse a file cheaply, large enough to time a few megabytes. */
const MAX_UPLOAD_BYTES = 10 * 1024 * 1024;

let server: TestServer;
let browser: Browser;
let alice: Page;
let bob: Page;

async function signedIn(token: string): Promise<Page> {
  // bypassCSP: the page's CSP forbids inline scripts, and axe is injected as one.
  const context = await browser.newContext({
    viewport: { width: 1280, height: 800 },
    bypassCSP: true,
  });
  const page = await context.newPage();
  await page.goto(server.url);
  await page.evaluate((t) => localStorage.setItem('parley.token', t), token);
  await page.goto(server.url);
  return page;
}

const fileInput = (page: Page) => page.locator('input[type="file"]');
const tray = (page: Page) => page.getByRole('list', { name: 'Files to send' });

beforeAll(async () => {
  [server, browser] = await Promise.all([
    startServer({ env: { MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES) } }),
    launchBrowser(),
  ]);
  const a = await register(server.url, 'alice', 'Alice Martin');
  const b = await register(server.url, 'bob', 'Bob Stone');
  await createDirect(server.url, a.token, b.user.id);
  [alice, bob] = await Promise.all([signedIn(a.token), signedIn(b.token)]);
  await openChat(alice, 'Bob Stone');
  await openChat(bob, 'Alice Martin');
});

afterAll(async () => {
  await browser?.close();
  await server?.dispose();
});

describe('attachments', () => {
  it('an image sent with no text shows inline to the other person, and opens full size', async () => {
    const png = await sharp({
      create: { width: 640, height: 480, channels: 3, background: { r: 220, g: 120, b: 40 } },
    })
      .png()
      .toBuffer();
    await visible(alice.getByRole('button', { name: 'Attach file', exact: true }));
    await fileInput(alice).setInputFiles({
      name: 'sunset.png',
      mimeType: 'image/png',
      buffer: png,
    });
    await visible(tray(alice).getByText('Uploaded'));
    await alice.getByRole('button', { name: 'Send', exact: true }).click();

    const img = messages(bob).getByRole('img', { name: 'sunset.png' });
    await visible(img);
    // Laid out at the thumbnail's size before it loads: 640x480 fits 320 px as 320x240.
    expect([await img.getAttribute('width'), await img.getAttribute('height')]).toEqual([
      '320',
      '240',
    ]);
    await expect
      .poll(() => img.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth), {
        timeout: 15_000,
      })
      .toBeGreaterThan(0);
    // The chat list says what it is.
    await visible(chats(bob).getByText('Photo', { exact: true }));

    // A click opens the original, full size, in a new tab.
    const [tab] = await Promise.all([bob.context().waitForEvent('page'), img.click()]);
    await tab.waitForLoadState();
    expect(new URL(tab.url()).pathname).toMatch(/^\/api\/uploads\/[0-9a-f-]+$/);
    const size = await tab.evaluate(() => {
      const shown = document.querySelector('img');
      return shown ? [shown.naturalWidth, shown.naturalHeight] : null;
    });
    expect(size).toEqual([640, 480]);
    await tab.close();
  });

  it('a file arrives as a card with its name, size and a working download', async () => {
    const notes = Buffer.from('Climbing gear list\n- rope\n- harness\n- chalk\n'.repeat(40));
    await fileInput(alice).setInputFiles({
      name: 'gear.txt',
      mimeType: 'text/plain',
      buffer: notes,
    });
    await visible(tray(alice).getByText('Uploaded'));
    const field = alice.getByRole('textbox', { name: 'Message' });
    await field.fill('The list for Saturday');
    await field.press('Enter');

    const item = messageItem(bob, 'The list for Saturday');
    const link = item.getByRole('link', { name: 'gear.txt' });
    await visible(link);
    await visible(item.getByText('1.7 KB', { exact: true }));
    const [download] = await Promise.all([bob.waitForEvent('download'), link.click()]);
    expect(download.suggestedFilename()).toBe('gear.txt');
    expect(await readFile(await download.path())).toEqual(notes);
  });

  it('says the limit in words, refuses a larger file before sending it, and times a large upload', async () => {
    const big = randomBytes(8 * 1024 * 1024);
    const started = Date.now();
    await fileInput(alice).setInputFiles({
      name: 'archive.bin',
      mimeType: 'application/octet-stream',
      buffer: big,
    });
    await visible(tray(alice).getByRole('progressbar', { name: 'Uploading archive.bin' }));
    await visible(alice.getByText('Files up to 10 MB each', { exact: true }));
    await visible(tray(alice).getByText('Uploaded'), 120_000);
    const seconds = (Date.now() - started) / 1000;
    console.log(
      `[uploads] 8 MiB over the socket in the browser: ${seconds.toFixed(2)} s, ${(8 / seconds).toFixed(2)} MiB/s`,
    );

    await fileInput(alice).setInputFiles({
      name: 'film.mov',
      mimeType: 'video/quicktime',
      buffer: Buffer.alloc(12 * 1024 * 1024),
    });
    await visible(
      tray(alice).getByText('film.mov is 12 MB: files can be at most 10 MB.', { exact: true }),
    );
  });

  it('the composer with files pending passes axe, light and dark', async () => {
    await visible(tray(alice).getByRole('button', { name: 'Remove archive.bin' }));
    await visible(tray(alice).getByRole('button', { name: 'Remove film.mov' }));
    const failing: string[] = [];
    for (const colorScheme of ['light', 'dark'] as const) {
      await alice.emulateMedia({ colorScheme, reducedMotion: 'reduce' });
      for (const v of await axeViolations(alice)) {
        if (v.impact === 'serious' || v.impact === 'critical') {
          failing.push(`${colorScheme}: ${v.impact} ${v.id}: ${v.nodes.join('; ')}`);
        }
      }
    }
    expect(failing).toEqual([]);
  });
});
