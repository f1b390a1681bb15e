import type { AuthResponse, Me } from '@parley/protocol';
import { Suspense, lazy, useCallback, useEffect, useState } from 'react';
import { ApiError, api, describeError } from './api.js';
import { FieldError, SignIn, sentence, type Credentials, type Field } from './components/SignIn.js';
import { forgetDrafts } from './drafts.js';

// The signed-in app loads after sign-in: the sign-in form's first load carries none of it.
const Messenger = lazy(() =>
  import('./components/Messenger.js').then((m) => ({ default: m.Messenger })),
);

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

const FIELDS: readonly Field[] = ['username', 'password', 'displayName'];
const isField = (name: string): name is Field => (FIELDS as readonly string[]).includes(name);

/**
 * Turns an auth failure into words for the sign-in form: a refusal of one field (the server
 * names it, as in "body.password: is one of the most common passwords") goes under that field.
 */
function authError(err: unknown, action: 'in' | 'up'): Error {
  if (!(err instanceof ApiError)) return new Error('Something went wrong.');
  if (action === 'in' && err.code === 'unauthorized') {
    return new Error('Wrong username or password.');
  }
  if (action === 'up' && err.code === 'conflict') {
    return new FieldError('username', 'That username is taken. Pick another, or sign in.');
  }
  if (err.code === 'validation_failed') {
    const [, field = '', rule = ''] = /^body\.(\w+): (.+)$/.exec(err.message) ?? [];
    if (isField(field)) return new FieldError(field, sentence(field, rule));
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

  /**
   * The server forgets the token first, so that a copy of it (another tab, a stolen one) stops
   * working too; the token is dropped here whatever the server answers. Signing out everywhere
   * that fails keeps the session, and says so: the other sessions are still open.
   */
  const signOut = useCallback(async (token: string, userId: string, everywhere: boolean) => {
    if (everywhere) {
      await api.logoutAll(token).catch((err: unknown) => {
        if (!(err instanceof ApiError && err.code === 'unauthorized')) throw err;
      });
    } else {
      await api.logout(token).catch(() => undefined);
    }
    localStorage.removeItem(TOKEN_KEY);
    // Unsent drafts are private too: they go with the session on this device.
    forgetDrafts(userId);
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
        <Suspense
          fallback={
            <main className="splash" aria-busy="true">
              <span className="brand-mark" aria-hidden="true" />
              <p>Loading Parley…</p>
            </main>
          }
        >
          <Messenger
            token={session.token}
            me={session.me}
            onSignOut={(everywhere) => signOut(session.token, session.me.id, everywhere)}
            onSessionEnded={sessionEnded}
          />
        </Suspense>
      );
  }
}
