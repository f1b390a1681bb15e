import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { FieldError, SignIn, type Credentials } from './SignIn.js';

function renderSignIn(
  onSignIn = vi.fn<(c: Credentials) => Promise<void>>(),
  onSignUp = vi.fn<(c: Credentials) => Promise<void>>().mockResolvedValue(),
) {
  render(<SignIn onSignIn={onSignIn} onSignUp={onSignUp} />);
  return { onSignIn, onSignUp };
}

describe('SignIn', () => {
  it('signs in with the username and password', async () => {
    const { onSignIn, onSignUp } = renderSignIn(
      vi.fn<(c: Credentials) => Promise<void>>().mockResolvedValue(),
    );
    await userEvent.type(screen.getByLabelText('Username'), 'alice');
    await userEvent.type(screen.getByLabelText('Password'), 'correct horse{Enter}');
    expect(onSignIn).toHaveBeenCalledExactlyOnceWith({
      username: 'alice',
      password: 'correct horse',
    });
    expect(onSignUp).not.toHaveBeenCalled();
  });

  it('signs up from the same fields, with an optional display name', async () => {
    const { onSignUp } = renderSignIn();
    await userEvent.type(screen.getByLabelText('Username'), 'bob');
    await userEvent.type(screen.getByLabelText('Password'), 'hunter22!');
    await userEvent.type(screen.getByLabelText(/Display name/), 'Bob B.');
    await userEvent.click(screen.getByRole('button', { name: 'Sign up' }));
    expect(onSignUp).toHaveBeenCalledExactlyOnceWith({
      username: 'bob',
      password: 'hunter22!',
      displayName: 'Bob B.',
    });
  });

  it('shows why signing in failed and lets the person try again', async () => {
    const onSignIn = vi
      .fn<(c: Credentials) => Promise<void>>()
      .mockRejectedValueOnce(new Error('Wrong username or password.'));
    renderSignIn(onSignIn);
    await userEvent.type(screen.getByLabelText('Username'), 'alice');
    await userEvent.type(screen.getByLabelText('Password'), 'nope-nope');
    await userEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect((await screen.findByRole('alert')).textContent).toBe('Wrong username or password.');
    expect(screen.getByRole('button', { name: 'Sign in' })).toHaveProperty('disabled', false);
  });

  it.each([
    ['too short', 'short', 'Password must be at least 8 characters.'],
    ['only spaces', '        ', 'Password needs a visible character, not only spaces.'],
    [
      'only zero-width spaces',
      '\u200b'.repeat(8),
      'Password needs a visible character, not only spaces.',
    ],
    ['the username', 'Carol_99', 'Password must not be the username.'],
  ])(
    'refuses a password that is %s at the field, before asking the server',
    async (_n, pw, words) => {
      const { onSignUp } = renderSignIn();
      await userEvent.type(screen.getByLabelText('Username'), 'carol_99');
      // userEvent.type cannot type some of these; paste puts them in as they are.
      await userEvent.click(screen.getByLabelText('Password'));
      await userEvent.paste(pw);
      await userEvent.click(screen.getByRole('button', { name: 'Sign up' }));
      const field = screen.getByLabelText('Password');
      expect(field.getAttribute('aria-invalid')).toBe('true');
      expect(field.getAttribute('aria-describedby')).toContain(
        screen.getByText(words).getAttribute('id'),
      );
      expect(document.activeElement).toBe(field);
      expect(onSignUp).not.toHaveBeenCalled();
    },
  );

  it("shows the server's refusal of a common password at the password field", async () => {
    const onSignUp = vi
      .fn<(c: Credentials) => Promise<void>>()
      .mockRejectedValueOnce(
        new FieldError('password', 'Password is one of the most common passwords.'),
      )
      .mockResolvedValueOnce();
    renderSignIn(undefined, onSignUp);
    await userEvent.type(screen.getByLabelText('Username'), 'dave');
    await userEvent.type(screen.getByLabelText('Password'), 'iloveyou');
    await userEvent.click(screen.getByRole('button', { name: 'Sign up' }));
    const field = screen.getByLabelText('Password');
    const words = await screen.findByText('Password is one of the most common passwords.');
    expect(field.getAttribute('aria-describedby')).toContain(words.getAttribute('id'));
    expect(field.getAttribute('aria-invalid')).toBe('true');
    expect(screen.queryByRole('alert')).toBeNull();
    // A better password goes, and the refusal is gone.
    await userEvent.clear(field);
    await userEvent.type(field, 'plum tree at dusk');
    await userEvent.click(screen.getByRole('button', { name: 'Sign up' }));
    expect(onSignUp).toHaveBeenLastCalledWith({ username: 'dave', password: 'plum tree at dusk' });
    expect(screen.queryByText('Password is one of the most common passwords.')).toBeNull();
  });

  it('signs in with a password the sign-up rules would refuse (older accounts)', async () => {
    const { onSignIn } = renderSignIn(
      vi.fn<(c: Credentials) => Promise<void>>().mockResolvedValue(),
    );
    await userEvent.type(screen.getByLabelText('Username'), 'olduser');
    await userEvent.type(screen.getByLabelText('Password'), 'short{Enter}');
    expect(onSignIn).toHaveBeenCalledExactlyOnceWith({ username: 'olduser', password: 'short' });
  });
});
