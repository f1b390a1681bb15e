import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { startServer, type TestServer } from './support/server.js';
import {
  gone,
  launchBrowser,
  openChat,
  send,
  signUp,
  startDirectChat,
  textOf,
  visible,
  type Person,
  personOption,
} from './support/browser.js';

let server: TestServer;
let browser: Browser;
let alice: Person;
let bob: Person;

beforeAll(async () => {
  [server, browser] = await Promise.all([startServer(), launchBrowser()]);
  [alice, bob] = await Promise.all([
    signUp(browser, server.url, 'alice', 'Alice Martin'),
    signUp(browser, server.url, 'bob', 'Bob Stone'),
  ]);
});

afterAll(async () => {
  await browser?.close();
  await server?.dispose();
});

describe('blocking', () => {
  it('alice blocks bob from their chat; bob cannot start a chat with her; she unblocks him', async () => {
    await startDirectChat(bob.page, 'alice');
    await send(bob.page, 'Hi Alice, it is Bob.');
    await openChat(alice.page, 'Bob Stone');
    // The handle beside the name says who this really is.
    await visible(alice.page.getByText('@bob', { exact: true }));

    // Block asks first.
    await alice.page.getByRole('button', { name: 'Block', exact: true }).click();
    const confirm = alice.page.getByRole('dialog', { name: 'Block Bob Stone?' });
    await textOf(
      confirm,
      /will not be able to write to you in your direct chat, start a chat with you/,
    );
    await confirm.getByRole('button', { name: 'Block', exact: true }).click();
    await gone(confirm);
    await visible(alice.page.getByRole('button', { name: 'Unblock', exact: true }));
    await visible(alice.page.getByText(/^You blocked Bob Stone \(@bob\)\./));

    // Bob tries to start a chat with her: refused, and told why in words.
    await bob.page.getByRole('button', { name: 'New chat' }).click();
    const dialog = bob.page.getByRole('dialog', { name: 'New chat' });
    await dialog.getByLabel('Search users').fill('alice');
    await personOption(dialog, 'alice').click();
    await textOf(dialog.getByRole('alert'), /^This person does not accept chats from you\.$/);
    await bob.page.keyboard.press('Escape');
    await gone(dialog);

    // Nor can he write to her in the chat they already share; he is told why.
    await send(bob.page, 'Are you there?');
    await textOf(
      bob.page.locator('.receipt.failed'),
      /Not sent\. This person does not accept messages from you\./,
    );

    // Alice finds him in her blocked list, in her Profile, and unblocks him there.
    await alice.page.getByRole('button', { name: 'Profile' }).click();
    const blocked = alice.page.getByRole('dialog', { name: 'Profile' });
    await visible(blocked.getByText('@bob', { exact: true }));
    await blocked.getByRole('button', { name: 'Unblock bob' }).click();
    await visible(blocked.getByText('You have not blocked anyone.'));
    await alice.page.keyboard.press('Escape');
    await gone(blocked);
    await visible(alice.page.getByRole('button', { name: 'Block', exact: true }));
    await gone(alice.page.getByText(/^You blocked/));

    // Now bob can open the chat again.
    await startDirectChat(bob.page, 'alice');
    await visible(bob.page.getByRole('heading', { name: 'Alice Martin', exact: true }));
    await send(bob.page, 'Thanks for unblocking me.');
  });
});
