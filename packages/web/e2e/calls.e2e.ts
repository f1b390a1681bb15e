import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIZES, seriousAxeViolations } from './support/axe.js';
import { startServer, type TestServer } from './support/server.js';
import {
  gone,
  launchBrowser,
  messageItem,
  openChat,
  send,
  signUp,
  startDirectChat,
  visible,
  type Person,
} from './support/browser.js';

// A video call between two browser contexts (issue 11), with Chromium's fake camera and
// microphone: the media really flow, peer to peer on this machine (no STUN or TURN needed). The
// Incoming call dialog and the call panel are checked with axe as they are met, in both themes.

let server: TestServer;
let browser: Browser;
let alice: Person;
let bruno: Person;
/** Bruno's second tab: it rings too, and stops when the first one answers. */
let brunoTab2: Page;

/**
 * Keeps every RTCPeerConnection the page makes in `window.parleyPeers`, so the test can read its
 * state and statistics (the app keeps its own private).
 */
function trackPeers(): void {
  const peers: RTCPeerConnection[] = [];
  (window as unknown as { parleyPeers: RTCPeerConnection[] }).parleyPeers = peers;
  const Native = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends Native {
    constructor(config?: RTCConfiguration) {
      super(config);
      peers.push(this);
    }
  };
}

/** The connection state of the page's latest peer connection ('none' before one exists). */
const peerState = (page: Page) =>
  page.evaluate(() => {
    const peers = (window as unknown as { parleyPeers?: RTCPeerConnection[] }).parleyPeers ?? [];
    return peers.at(-1)?.connectionState ?? 'none';
  });

/** Bytes received over inbound RTP by the page's latest peer connection. */
const bytesReceived = (page: Page) =>
  page.evaluate(async () => {
    const peers = (window as unknown as { parleyPeers?: RTCPeerConnection[] }).parleyPeers ?? [];
    const pc = peers.at(-1);
    if (!pc) return 0;
    let bytes = 0;
    (await pc.getStats()).forEach((report: { type: string; bytesReceived?: number }) => {
      if (report.type === 'inbound-rtp') bytes += report.bytesReceived ?? 0;
    });
    return bytes;
  });

beforeAll(async () => {
  [server, browser] = await Promise.all([
    startServer(),
    launchBrowser(['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream']),
  ]);
  // axe is injected as an inline script, which the app's Content-Security-Policy forbids.
  const axeReady = { bypassCSP: true };
  alice = await signUp(
    browser,
    server.url,
    'alice',
    'Alice Martin',
    SIZES.desktop.viewport,
    axeReady,
  );
  bruno = await signUp(
    browser,
    server.url,
    'bruno',
    'Bruno Costa',
    SIZES.desktop.viewport,
    axeReady,
  );
  for (const person of [alice, bruno]) {
    await person.page.context().addInitScript(trackPeers);
    await person.page.reload();
  }
  brunoTab2 = await bruno.page.context().newPage();
  await brunoTab2.goto(server.url);
});

afterAll(async () => {
  await browser?.close();
  await server?.dispose();
});

describe('a video call between two people', () => {
  it('rings every tab of the callee, connects with media flowing both ways, and hangs up with the duration in both chats', async () => {
    await startDirectChat(alice.page, 'bruno');
    await send(alice.page, 'Can I call you?');
    await openChat(bruno.page, 'Alice Martin');

    const startedAt = Date.now();
    await alice.page.getByRole('button', { name: 'Video call' }).click();
    await visible(alice.page.getByRole('region', { name: 'Call with Bruno Costa' }));

    // Both of Bruno's tabs ring; he accepts in the first, and the second stops ringing.
    const incoming = bruno.page.getByRole('dialog', { name: 'Incoming call' });
    const incoming2 = brunoTab2.getByRole('dialog', { name: 'Incoming call' });
    await visible(incoming);
    await visible(incoming2);
    await expect
      .poll(() => incoming.innerText())
      .toMatch(/Alice Martin \(@alice\) is starting a video call/);
    expect(await seriousAxeViolations(bruno.page, 'Incoming call dialog')).toEqual([]);
    const acceptedAt = Date.now();
    await incoming.getByRole('button', { name: 'Accept' }).click();
    await gone(incoming2);

    // Connected in both browsers, with RTP arriving in both.
    await expect
      .poll(async () => [await peerState(alice.page), await peerState(bruno.page)], {
        timeout: 30_000,
      })
      .toEqual(['connected', 'connected']);
    const connectedAt = Date.now();
    await expect
      .poll(
        async () => Math.min(await bytesReceived(alice.page), await bytesReceived(bruno.page)),
        {
          timeout: 15_000,
        },
      )
      .toBeGreaterThan(0);
    // Measured, never asserted: a loaded machine is slower, not wrong.
    console.log(
      `call setup: ${connectedAt - acceptedAt} ms from Bruno's Accept to both peer connections "connected"; ` +
        `${connectedAt - startedAt} ms from Alice's click (ringing and the test's own steps included)`,
    );

    // The in-call controls, on both sides.
    for (const page of [alice.page, bruno.page]) {
      const panel = page.getByRole('region', { name: /^Call with / });
      await visible(panel.getByRole('button', { name: 'Mute' }));
      await visible(panel.getByRole('button', { name: 'Turn camera off' }));
      await visible(panel.getByRole('button', { name: 'Hang up' }));
      await expect.poll(() => panel.getByRole('status').innerText()).toBe('Connected');
      await expect
        .poll(() => panel.getByRole('timer', { name: 'Call duration' }).innerText())
        .toMatch(/^\d+:\d\d$/);
    }
    // The call panel with both videos playing, on the caller's side and the callee's.
    expect(await seriousAxeViolations(alice.page, 'in-call view (caller)')).toEqual([]);
    expect(await seriousAxeViolations(bruno.page, 'in-call view (callee)')).toEqual([]);

    // (The chat header has a Mute of its own, for notifications: the call's is in its panel.)
    const brunoPanel = bruno.page.getByRole('region', { name: 'Call with Alice Martin' });
    const mute = brunoPanel.getByRole('button', { name: 'Mute' });
    await mute.click();
    await expect.poll(() => mute.getAttribute('aria-pressed')).toBe('true');
    const camera = brunoPanel.getByRole('button', { name: 'Turn camera off' });
    await camera.click();
    await expect.poll(() => camera.getAttribute('aria-pressed')).toBe('true');

    // Alice hangs up: both panels close, and both chats show the call's length.
    await alice.page
      .getByRole('region', { name: 'Call with Bruno Costa' })
      .getByRole('button', { name: 'Hang up' })
      .click();
    await gone(alice.page.getByRole('region', { name: /^Call with / }));
    await gone(bruno.page.getByRole('region', { name: /^Call with / }));
    await visible(messageItem(alice.page, 'Video call, '));
    await visible(messageItem(bruno.page, 'Video call, '));
    expect((await messageItem(bruno.page, 'Video call, ').innerText()).trim()).toMatch(
      /^Video call, \d+:\d\d$/,
    );
    await visible(bruno.page.getByText('Alice Martin hung up.'));
  });

  it('a declined call tells the caller, and an unanswered ring can be cancelled', async () => {
    await bruno.page.getByRole('button', { name: 'Audio call' }).click();
    const incoming = alice.page.getByRole('dialog', { name: 'Incoming call' });
    await visible(incoming);
    await incoming.getByRole('button', { name: 'Decline' }).click();
    await gone(incoming);
    await visible(bruno.page.getByText('Alice Martin declined the call.'));
    await gone(bruno.page.getByRole('region', { name: /^Call with / }));

    await bruno.page.getByRole('button', { name: 'Audio call' }).click();
    await visible(incoming);
    await bruno.page.getByRole('button', { name: 'Hang up' }).click();
    await gone(incoming);
    await visible(messageItem(alice.page, 'Missed call'));
  });
});
