import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { ApiError } from '../api.js';
import { FieldError, SignIn, signInError, type Credentials } from './SignIn.js';

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
    // With nothing typed yet, Sign up shows the sign-up form.
    await userEvent.click(screen.getByRole('button', { name: 'Sign up' }));
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
  it('signs up on Enter in the sign-up form, never in', async () => {
    const { onSignIn, onSignUp } = renderSignIn();
    await userEvent.click(screen.getByRole('button', { name: 'Sign up' }));
    expect(document.activeElement).toBe(screen.getByLabelText('Username'));
    await userEvent.type(screen.getByLabelText('Username'), 'erin');
    await userEvent.type(screen.getByLabelText('Password'), 'plum tree at dusk');
    await userEvent.type(screen.getByLabelText(/Display name/), 'Erin O.{Enter}');
    expect(onSignUp).toHaveBeenCalledExactlyOnceWith({
      username: 'erin',
      password: 'plum tree at dusk',
      displayName: 'Erin O.',
    });
    expect(onSignIn).not.toHaveBeenCalled();
  });

  it('after a refused sign-up, Enter tries signing up again', async () => {
    const onSignUp = vi
      .fn<(c: Credentials) => Promise<void>>()
      .mockRejectedValueOnce(
        new FieldError('username', 'That username is taken. Pick another, or sign in.'),
      )
      .mockResolvedValueOnce();
    const { onSignIn } = renderSignIn(undefined, onSignUp);
    await userEvent.type(screen.getByLabelText('Username'), 'frank');
    await userEvent.type(screen.getByLabelText('Password'), 'plum tree at dusk');
    await userEvent.click(screen.getByRole('button', { name: 'Sign up' }));
    const username = screen.getByLabelText('Username');
    await screen.findByText('That username is taken. Pick another, or sign in.');
    expect(document.activeElement).toBe(username);
    await userEvent.type(username, '_2{Enter}');
    expect(onSignUp).toHaveBeenLastCalledWith({
      username: 'frank_2',
      password: 'plum tree at dusk',
    });
    expect(onSignIn).not.toHaveBeenCalled();
  });

  it('asks password managers for the current password to sign in and a new one to sign up', async () => {
    renderSignIn();
    expect(screen.getByLabelText('Username').getAttribute('autocomplete')).toBe('username');
    expect(screen.getByLabelText('Password').getAttribute('autocomplete')).toBe('current-password');
    await userEvent.click(screen.getByRole('button', { name: 'Sign up' }));
    expect(screen.getByLabelText('Username').getAttribute('autocomplete')).toBe('username');
    expect(screen.getByLabelText('Password').getAttribute('autocomplete')).toBe('new-password');
    // And back: Sign in with nothing typed returns to the sign-in form.
    await userEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(screen.getByLabelText('Password').getAttribute('autocomplete')).toBe('current-password');
    expect(screen.queryByLabelText(/Display name/)).toBeNull();
  });

  it('says at the field which one is missing', async () => {
    const { onSignIn } = renderSignIn();
    await userEvent.type(screen.getByLabelText('Username'), 'alice{Enter}');
    const field = screen.getByLabelText('Password');
    expect(field.getAttribute('aria-invalid')).toBe('true');
    expect(field.getAttribute('aria-describedby')).toBe(
      screen.getByText('Enter a password.').getAttribute('id'),
    );
    expect(document.activeElement).toBe(field);
    expect(onSignIn).not.toHaveBeenCalled();
  });

  it("shows the server's refusal of a display name in words at that field", async () => {
    const onSignUp = vi
      .fn<(c: Credentials) => Promise<void>>()
      .mockRejectedValueOnce(
        signInError(
          new ApiError(400, 'validation_failed', 'body.displayName: needs a visible character'),
          'up',
        ),
      );
    renderSignIn(undefined, onSignUp);
    await userEvent.click(screen.getByRole('button', { name: 'Sign up' }));
    await userEvent.type(screen.getByLabelText('Username'), 'gwen');
    await userEvent.type(screen.getByLabelText('Password'), 'plum tree at dusk');
    await userEvent.type(screen.getByLabelText(/Display name/), '\u3164{Enter}');
    const field = screen.getByLabelText(/Display name/);
    const words = await screen.findByText('Display name needs a visible character.');
    expect(field.getAttribute('aria-invalid')).toBe('true');
    expect(field.getAttribute('aria-describedby')).toBe(words.getAttribute('id'));
    expect(document.body.textContent).not.toContain('body.');
  });
});

describe('signInError', () => {
  it.each([
    [
      'body.password: is one of the most common passwords; choose one that is harder to guess',
      'password',
      'Password is one of the most common passwords; choose one that is harder to guess.',
    ],
    ['body.password: must not be the username', 'password', 'Password must not be the username.'],
    [
      'body.username: must be 3 to 32 of a-z A-Z 0-9 _ . -',
      'username',
      'Username must be 3 to 32 of a-z A-Z 0-9 _ . -.',
    ],
  ])('puts "%s" at the %s field, in words', (message, field, words) => {
    const err = signInError(new ApiError(400, 'validation_failed', message), 'up');
    expect(err).toBeInstanceOf(FieldError);
    expect((err as FieldError).field).toBe(field);
    expect(err.message).toBe(words);
  });

  it('never shows an API path, even for a field the form does not have', () => {
    const err = signInError(
      new ApiError(400, 'validation_failed', 'body.email: Invalid email'),
      'up',
    );
    expect(err).not.toBeInstanceOf(FieldError);
    expect(err.message).toBe('That was not accepted: Invalid email.');
  });

  it.each(['username is taken', 'username or email is not available'])(
    'says a taken name ("%s") is the username, never an email',
    (message) => {
      const err = signInError(new ApiError(409, 'conflict', message), 'up');
      expect(err).toBeInstanceOf(FieldError);
      expect((err as FieldError).field).toBe('username');
      expect(err.message).toBe('That username is taken. Pick another, or sign in.');
      expect(err.message).not.toMatch(/email/i);
    },
  );

  it('answers a refused sign-in without saying which of the two was wrong', () => {
    const err = signInError(new ApiError(401, 'unauthorized', 'invalid credentials'), 'in');
    expect(err.message).toBe('Wrong username or password.');
  });
});
