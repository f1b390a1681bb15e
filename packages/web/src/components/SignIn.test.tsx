import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { SignIn, type Credentials } from './SignIn.js';

function renderSignIn(onSignIn = vi.fn<(c: Credentials) => Promise<void>>()) {
  const onSignUp = vi.fn<(c: Credentials) => Promise<void>>().mockResolvedValue();
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
});
