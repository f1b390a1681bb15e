import type { AuthResponse, Me } from '@parley/protocol';
import { Suspense, lazy, useCallback, useEffect, useRef, useState } from 'react';
import { ApiError, api } from './api.js';
import type { AccountActions } from './components/ProfileDialog.js';
import { SignIn, signInError, type Credentials } from './components/SignIn.js';
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

  /**
   * The server ended this token (signed out elsewhere, or everywhere). Only that token's session
   * ends: the end of one replaced by a password change is no news, and another tab that still
   * held it must not take away the new one stored here.
   */
  const endSession = useCallback((ended: string) => {
    if (readToken() === ended) localStorage.removeItem(TOKEN_KEY);
    setSession((s) =>
      s.phase === 'signed-in' && s.token === ended
        ? { phase: 'signed-out', reason: 'Your session has ended. Sign in again.' }
        : s,
    );
  }, []);

  // A password change ends the token it was asked with before its answer brings the next one,
  // and the socket may hear of that end first: it waits for the answer.
  const changingFrom = useRef<{ token: string; ended: boolean } | null>(null);
  const sessionEnded = useCallback(
    (ended: string) => {
      const change = changingFrom.current;
      if (change?.token === ended) change.ended = true;
      else endSession(ended);
    },
    [endSession],
  );

  const changePassword = useCallback(
    async (token: string, currentPassword: string, newPassword: string) => {
      const change = { token, ended: false };
      changingFrom.current = change;
      try {
        const { token: fresh } = await api.changePassword(token, { currentPassword, newPassword });
        // Every earlier token has ended: this tab goes on with the new one, now and on reload.
        if (readToken() === token) localStorage.setItem(TOKEN_KEY, fresh);
        setSession((s) =>
          s.phase === 'signed-in' && s.token === token ? { ...s, token: fresh } : s,
        );
      } catch (err) {
        // No new token came, and the old one ended meanwhile (signed out everywhere, say).
        if (change.ended) endSession(token);
        throw err;
      } finally {
        if (changingFrom.current === change) changingFrom.current = null;
      }
    },
    [endSession],
  );

  const changeDisplayName = useCallback(async (token: string, displayName: string) => {
    const { user } = await api.updateMe(token, { displayName });
    setSession((s) => (s.phase === 'signed-in' && s.me.id === user.id ? { ...s, me: user } : s));
  }, []);

  const accountOf = (token: string): AccountActions => ({
    changeDisplayName: (displayName) => changeDisplayName(token, displayName),
    changePassword: (current, next) => changePassword(token, current, next),
  });

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
              throw signInError(err, 'in');
            }
          }}
          onSignUp={async (credentials: Credentials) => {
            try {
              signedIn(await api.register(credentials));
            } catch (err) {
              throw signInError(err, 'up');
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
            account={accountOf(session.token)}
            onSignOut={(everywhere) => signOut(session.token, session.me.id, everywhere)}
            onSessionEnded={sessionEnded}
          />
        </Suspense>
      );
  }
}
