import type { AuthResponse, Me } from '@parley/protocol';
import { useCallback, useEffect, useState } from 'react';
import { ApiError, api, describeError } from './api.js';
import { Messenger } from './components/Messenger.js';
import { SignIn, type Credentials } from './components/SignIn.js';

const TOKEN_KEY = 'parley.token';

type Session =
  | { phase: 'checking' }
  | { phase: 'unreachable' }
  | { phase: 'signed-out'; reason: string | null }
  | { phase: 'signed-in'; token: string; me: Me };

function readToken(): string | null {
  try {
    return localStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

/** Turns an auth failure into a sentence for the sign-in form. */
function authError(err: unknown, action: 'in' | 'up'): Error {
  if (!(err instanceof ApiError)) return new Error('Something went wrong.');
  if (action === 'in' && err.code === 'unauthorized') {
    return new Error('Wrong username or password.');
  }
  if (action === 'up' && err.code === 'conflict') {
    return new Error('That username (or email) is taken. Pick another, or sign in.');
  }
  if (err.code === 'validation_failed') {
    return new Error(`Check the form: ${err.message}`);
  }
  return new Error(describeError(err.code, err.message));
}

export function App() {
  const [session, setSession] = useState<Session>(() =>
    readToken() ? { phase: 'checking' } : { phase: 'signed-out', reason: null },
  );
  const [attempt, setAttempt] = useState(0);

  // A stored token is only trusted once the server confirms it.
  useEffect(() => {
    if (session.phase !== 'checking') return;
    const token = readToken();
    if (!token) {
      setSession({ phase: 'signed-out', reason: null });
      return;
    }
    let current = true;
    api.me(token).then(
      ({ user }) => current && setSession({ phase: 'signed-in', token, me: user }),
      (err: unknown) => {
        if (!current) return;
        if (err instanceof ApiError && err.code === 'unauthorized') {
          localStorage.removeItem(TOKEN_KEY);
          setSession({ phase: 'signed-out', reason: 'Your session has ended. Sign in again.' });
        } else {
          setSession({ phase: 'unreachable' });
        }
      },
    );
    return () => {
      current = false;
    };
  }, [session.phase, attempt]);

  const signedIn = useCallback(({ token, user }: AuthResponse) => {
    localStorage.setItem(TOKEN_KEY, token);
    setSession({ phase: 'signed-in', token, me: user });
  }, []);

  const signOut = useCallback(() => {
    localStorage.removeItem(TOKEN_KEY);
    window.history.replaceState(null, '', '/');
    setSession({ phase: 'signed-out', reason: null });
  }, []);

  const sessionEnded = useCallback(() => {
    localStorage.removeItem(TOKEN_KEY);
    setSession({ phase: 'signed-out', reason: 'Your session has ended. Sign in again.' });
  }, []);

  switch (session.phase) {
    case 'checking':
      return (
        <main className="splash" aria-busy="true">
          <span className="brand-mark" aria-hidden="true" />
          <p>Loading Parley…</p>
        </main>
      );
    case 'unreachable':
      return (
        <main className="splash">
          <span className="brand-mark" aria-hidden="true" />
          <p role="alert">Cannot reach the Parley server.</p>
          <button
            type="button"
            className="primary"
            onClick={() => {
              setSession({ phase: 'checking' });
              setAttempt((n) => n + 1);
            }}
          >
            Try again
          </button>
        </main>
      );
    case 'signed-out':
      return (
        <SignIn
          initialError={session.reason}
          onSignIn={async ({ username, password }) => {
            try {
              signedIn(await api.login({ username, password }));
            } catch (err) {
              throw authError(err, 'in');
            }
          }}
          onSignUp={async (credentials: Credentials) => {
            try {
              signedIn(await api.register(credentials));
            } catch (err) {
              throw authError(err, 'up');
            }
          }}
        />
      );
    case 'signed-in':
      return (
        <Messenger
          token={session.token}
          me={session.me}
          onSignOut={signOut}
          onSessionEnded={sessionEnded}
        />
      );
  }
}
