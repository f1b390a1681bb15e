import type { User } from '@parley/protocol';
import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { useCallback, useState } from 'react';
import { describe, expect, it, vi } from 'vitest';
import { ApiError } from '../api.js';
import * as f from '../test/factories.js';
import { ProfileDialog, type AccountActions } from './ProfileDialog.js';

const me = f.me({ username: 'alice_martin', display_name: 'Alice Martin' });
const bob = f.user({ username: 'bob', display_name: 'Bob Stone' });

interface Options {
  changeDisplayName?: AccountActions['changeDisplayName'];
  changePassword?: AccountActions['changePassword'];
  unblock?: (userId: string) => Promise<void>;
  signOutEverywhere?: () => Promise<void>;
  blocked?: User[];
}

/** The dialog over a blocked list that unblocking shrinks, as the client's state does. */
function Harness({ options }: { options: Required<Options> }) {
  const [blocked, setBlocked] = useState<User[] | null>(null);
  const load = useCallback(() => Promise.resolve(setBlocked(options.blocked)), [options]);
  return (
    <ProfileDialog
      me={me}
      account={{
        changeDisplayName: options.changeDisplayName,
        changePassword: options.changePassword,
      }}
      blocked={blocked}
      loadBlocked={load}
      unblock={async (id) => {
        await options.unblock(id);
        setBlocked((list) => (list ?? []).filter((u) => u.id !== id));
      }}
      signOutEverywhere={options.signOutEverywhere}
      onClose={() => {}}
    />
  );
}

function renderProfile(options: Options = {}) {
  const all: Required<Options> = {
    changeDisplayName: vi.fn<AccountActions['changeDisplayName']>().mockResolvedValue(),
    changePassword: vi.fn<AccountActions['changePassword']>().mockResolvedValue(),
    unblock: vi.fn<(id: string) => Promise<void>>().mockResolvedValue(),
    signOutEverywhere: vi.fn<() => Promise<void>>().mockResolvedValue(),
    blocked: [],
    ...options,
  };
  render(<Harness options={all} />);
  return all;
}

const dialog = () => screen.getByRole('dialog', { name: 'Profile' });

/** The field is marked invalid and described by exactly these words, which are on screen. */
function expectRefusal(field: HTMLElement, words: string) {
  expect(field.getAttribute('aria-invalid')).toBe('true');
  const described = (field.getAttribute('aria-describedby') ?? '')
    .split(' ')
    .map((id) => document.getElementById(id)?.textContent);
  expect(described).toContain(words);
  expect(document.body.textContent).not.toContain('body.');
}

describe('ProfileDialog: display name', () => {
  it('saves a new display name and says so', async () => {
    const { changeDisplayName } = renderProfile();
    const field = within(dialog()).getByLabelText('Display name');
    expect(field).toHaveProperty('value', 'Alice Martin');
    // The dialog opens on it.
    expect(document.activeElement).toBe(field);
    await userEvent.clear(field);
    await userEvent.type(field, '  Alice M.  ');
    await userEvent.click(screen.getByRole('button', { name: 'Save name' }));
    expect(changeDisplayName).toHaveBeenCalledExactlyOnceWith('Alice M.');
    expect(await screen.findByText('Display name saved.')).toBeTruthy();
  });

  it.each([
    ['empty', '   ', 'Enter a display name.'],
    ['invisible', '\u3164\u200b', 'Display name needs a visible character.'],
    ['too long', 'x'.repeat(65), 'Display name must be at most 64 characters.'],
  ])('refuses an %s name at the field, before asking the server', async (_n, name, words) => {
    const { changeDisplayName } = renderProfile();
    const field = within(dialog()).getByLabelText('Display name');
    await userEvent.clear(field);
    await userEvent.click(field);
    await userEvent.paste(name);
    await userEvent.keyboard('{Enter}');
    expectRefusal(field, words);
    expect(document.activeElement).toBe(field);
    expect(changeDisplayName).not.toHaveBeenCalled();
  });

  it("shows the server's refusal of a name in words at the field", async () => {
    renderProfile({
      changeDisplayName: vi
        .fn<AccountActions['changeDisplayName']>()
        .mockRejectedValue(
          new ApiError(
            400,
            'validation_failed',
            'body.displayName: must not contain bidirectional control characters',
          ),
        ),
    });
    const field = within(dialog()).getByLabelText('Display name');
    await userEvent.type(field, ' Jr.{Enter}');
    await waitFor(() =>
      expectRefusal(field, 'Display name must not contain bidirectional control characters.'),
    );
  });
});

describe('ProfileDialog: password', () => {
  async function fill(current: string, next: string) {
    if (current) await userEvent.type(screen.getByLabelText('Current password'), current);
    if (next) await userEvent.type(screen.getByLabelText('New password'), next);
    await userEvent.click(screen.getByRole('button', { name: 'Change password' }));
  }

  it('changes the password with the current one, then empties the fields and says so', async () => {
    const { changePassword } = renderProfile();
    await fill('correct horse battery', 'plum tree at dusk');
    expect(changePassword).toHaveBeenCalledExactlyOnceWith(
      'correct horse battery',
      'plum tree at dusk',
    );
    expect(
      await screen.findByText('Password changed. Your other devices are signed out.'),
    ).toBeTruthy();
    expect(screen.getByLabelText('Current password')).toHaveProperty('value', '');
    expect(screen.getByLabelText('New password')).toHaveProperty('value', '');
  });

  it('tells password managers which password is which, and for whom', () => {
    renderProfile();
    expect(screen.getByLabelText('Current password').getAttribute('autocomplete')).toBe(
      'current-password',
    );
    expect(screen.getByLabelText('New password').getAttribute('autocomplete')).toBe('new-password');
    const username = document.querySelector<HTMLInputElement>('input[autocomplete="username"]');
    expect(username?.value).toBe('alice_martin');
  });

  it('says a wrong current password at that field', async () => {
    renderProfile({
      changePassword: vi
        .fn<AccountActions['changePassword']>()
        .mockRejectedValue(new ApiError(401, 'unauthorized', 'wrong password')),
    });
    await fill('not it at all', 'plum tree at dusk');
    const field = screen.getByLabelText('Current password');
    await waitFor(() => expectRefusal(field, 'That is not your current password.'));
    expect(document.activeElement).toBe(field);
    expect(screen.queryByText(/Password changed/)).toBeNull();
  });

  it.each([
    [
      'no current password',
      '',
      'plum tree at dusk',
      'Current password',
      'Enter your current password.',
    ],
    [
      'a short new one',
      'correct horse battery',
      'short',
      'New password',
      'New password must be at least 8 characters.',
    ],
    [
      'the username',
      'correct horse battery',
      ' Alice_Martin ',
      'New password',
      'New password must not be your username.',
    ],
  ])(
    'refuses %s at its field, before asking the server',
    async (_n, current, next, label, words) => {
      const { changePassword } = renderProfile();
      await fill(current, next);
      const field = screen.getByLabelText(label);
      expectRefusal(field, words);
      expect(document.activeElement).toBe(field);
      expect(changePassword).not.toHaveBeenCalled();
    },
  );

  it("shows the server's refusal of a common password at the new password field", async () => {
    renderProfile({
      changePassword: vi
        .fn<AccountActions['changePassword']>()
        .mockRejectedValue(
          new ApiError(
            400,
            'validation_failed',
            'body.newPassword: is one of the most common passwords; choose one that is harder to guess',
          ),
        ),
    });
    await fill('correct horse battery', 'iloveyou1');
    await waitFor(() =>
      expectRefusal(
        screen.getByLabelText('New password'),
        'New password is one of the most common passwords; choose one that is harder to guess.',
      ),
    );
  });

  it('says an ended session in words, not at a field', async () => {
    renderProfile({
      changePassword: vi
        .fn<AccountActions['changePassword']>()
        .mockRejectedValue(new ApiError(401, 'unauthorized', 'invalid or expired token')),
    });
    await fill('correct horse battery', 'plum tree at dusk');
    expect((await screen.findByRole('alert')).textContent).toBe(
      'Your session has ended. Sign in again.',
    );
    expect(screen.getByLabelText('Current password').getAttribute('aria-invalid')).toBeNull();
  });
});

describe('ProfileDialog: blocked users and sessions', () => {
  it('lists the people I blocked and unblocks one', async () => {
    const { unblock } = renderProfile({ blocked: [bob] });
    const list = await within(dialog()).findByRole('list', { name: 'Blocked users' });
    expect(within(list).getByText('@bob')).toBeTruthy();
    await userEvent.click(within(list).getByRole('button', { name: 'Unblock bob' }));
    expect(unblock).toHaveBeenCalledExactlyOnceWith(bob.id);
    expect(await screen.findByText('You have not blocked anyone.')).toBeTruthy();
  });

  it('signs out everywhere, and says so when the server could not be told', async () => {
    const signOutEverywhere = vi
      .fn<() => Promise<void>>()
      .mockRejectedValueOnce(new ApiError(0, 'network', 'Cannot reach the server.'))
      .mockResolvedValueOnce();
    renderProfile({ signOutEverywhere });
    const button = screen.getByRole('button', { name: 'Sign out everywhere' });
    await userEvent.click(button);
    expect((await screen.findByRole('alert')).textContent).toBe(
      'Could not sign out everywhere: Cannot reach the server.',
    );
    await waitFor(() => expect(button).toHaveProperty('disabled', false));
    await userEvent.click(button);
    expect(signOutEverywhere).toHaveBeenCalledTimes(2);
  });
});
