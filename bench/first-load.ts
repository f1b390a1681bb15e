// First load of the web client on a throttled network, as issue 10 asks it measured: the
// sign-in form (a new visitor) and the signed-in chat list (a returning user, token kept), each
// in a fresh browser context with an empty cache, over "Fast 3G" (1.6 Mbit/s down, 750 kbit/s up,
// 150 ms round trip). Reports bytes on the wire and the time until the screen is usable.
//   npm run build && node --import tsx bench/first-load.ts   (starts its own server)
import { chromium } from 'playwright-core';
import {
  killChildren,
  removeTempDirs,
  startChild,
  tempDir,
} from '../packages/server/test/helpers/process.js';
import { registerUser, createDirect } from '../packages/server/test/helpers/client.js';

const FAST_3G = {
  offline: false,
  latency: 150,
  downloadThroughput: (1.6 * 1024 * 1024) / 8,
  uploadThroughput: (750 * 1024) / 8,
};

const server = await startChild({
  dataDir: tempDir('parley-first-load-'),
  env: { WEB_DIST: undefined },
});
const browser = await chromium.launch({
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
  ],
});
try {
  const alice = await registerUser(server.url);
  const bob = await registerUser(server.url);
  await createDirect(alice, bob);

  async function load(name: string, token: string | null, ready: string) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    if (token) {
      await context.addInitScript({
        content: `localStorage.setItem('parley.token', ${JSON.stringify(token)})`,
      });
    }
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', FAST_3G);
    let bytes = 0;
    cdp.on('Network.loadingFinished', (e: { encodedDataLength: number }) => {
      bytes += e.encodedDataLength;
    });
    const started = Date.now();
    await page.goto(server.url);
    await page
      .getByRole(ready === 'Sign in' ? 'button' : 'list', { name: ready })
      .first()
      .waitFor();
    const ms = Date.now() - started;
    console.log(
      `${name}: ${(bytes / 1024).toFixed(0)} KB on the wire, usable after ${(ms / 1000).toFixed(2)} s`,
    );
    await context.close();
  }
  await load('sign-in form', null, 'Sign in');
  await load('signed-in chat list', alice.token, 'Chats');
} finally {
  await browser.close();
  await server.stop();
  await killChildren();
  removeTempDirs();
}
