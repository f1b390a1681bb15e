import { useId, useState, type FormEvent } from 'react';

export interface Credentials {
  username: string;
  password: string;
  displayName?: string;
}

interface SignInProps {
  onSignIn: (credentials: Credentials) => Promise<void>;
  onSignUp: (credentials: Credentials) => Promise<void>;
  /** Shown above the form, e.g. why the last session ended. */
  initialError?: string | null;
}

/** One form, two actions: "Sign in" with an account, or "Sign up" to create it from the same fields. */
export function SignIn({ onSignIn, onSignUp, initialError = null }: SignInProps) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [busy, setBusy] = useState<'in' | 'up' | null>(null);
  const [error, setError] = useState<string | null>(initialError);
  const ids = { user: useId(), pass: useId(), name: useId(), hint: useId() };

  async function run(action: 'in' | 'up') {
    if (busy) return;
    if (!username.trim() || !password) {
      setError('Enter a username and a password.');
      return;
    }
    setBusy(action);
    setError(null);
    const credentials: Credentials = { username: username.trim(), password };
    if (action === 'up' && displayName.trim()) credentials.displayName = displayName.trim();
    try {
      await (action === 'in' ? onSignIn : onSignUp)(credentials);
    } catch (err) {
      setError(err instanceof Error ? err.message : 'Something went wrong.');
      setBusy(null);
    }
  }

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    // Enter in a field signs in; signing up takes its own button.
    void run('in');
  }

  return (
    <main className="auth">
      <form className="auth-card" onSubmit={onSubmit} aria-labelledby="auth-title" noValidate>
        <div className="brand" aria-hidden="true">
          <span className="brand-mark" />
        </div>
        <h1 id="auth-title">Parley</h1>
        <p className="auth-sub">Sign in, or pick a username and password to sign up.</p>
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
        <div className="field">
          <label htmlFor={ids.user}>Username</label>
          <input
            id={ids.user}
            name="username"
            autoComplete="username"
            autoCapitalize="none"
            spellCheck={false}
            value={username}
            onChange={(e) => setUsername(e.target.value)}
            aria-describedby={ids.hint}
            required
          />
        </div>
        <div className="field">
          <label htmlFor={ids.pass}>Password</label>
          <input
            id={ids.pass}
            name="password"
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            aria-describedby={ids.hint}
            required
          />
          <small id={ids.hint} className="hint">
            Usernames are 3–32 letters, digits, “_”, “.” or “-”; passwords at least 8 characters.
          </small>
        </div>
        <div className="field">
          <label htmlFor={ids.name}>
            Display name <span className="optional">(optional, for sign up)</span>
          </label>
          <input
            id={ids.name}
            name="displayName"
            autoComplete="name"
            value={displayName}
            onChange={(e) => setDisplayName(e.target.value)}
          />
        </div>
        <div className="auth-actions">
          <button type="submit" className="primary" disabled={busy !== null}>
            {busy === 'in' ? 'Signing in…' : 'Sign in'}
          </button>
          <button
            type="button"
            className="secondary"
            disabled={busy !== null}
            onClick={() => void run('up')}
          >
            {busy === 'up' ? 'Signing up…' : 'Sign up'}
          </button>
        </div>
      </form>
    </main>
  );
}
