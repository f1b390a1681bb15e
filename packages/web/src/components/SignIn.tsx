import { USERNAME_PATTERN, password as passwordRules } from '@parley/protocol';
import { useId, useRef, useState, type FormEvent } from 'react';
import { FormError } from './FormError.js';

export interface Credentials {
  username: string;
  password: string;
  displayName?: string;
}

export type Field = 'username' | 'password' | 'displayName';

/** A refusal that belongs to one field: shown under it, in words. */
export class FieldError extends Error {
  constructor(
    readonly field: Field,
    message: string,
  ) {
    super(message);
    this.name = 'FieldError';
  }
}

interface SignInProps {
  onSignIn: (credentials: Credentials) => Promise<void>;
  /** May reject with a FieldError (a password the server refuses, a taken username). */
  onSignUp: (credentials: Credentials) => Promise<void>;
  /** Shown above the form, e.g. why the last session ended. */
  initialError?: string | null;
}

const LABELS: Record<Field, string> = {
  username: 'Username',
  password: 'Password',
  displayName: 'Display name',
};

/** "must be at least 8 characters" under Password reads "Password must be at least 8 characters." */
export const sentence = (field: Field, rule: string): string =>
  `${LABELS[field]} ${rule.replace(/\.$/, '')}.`;

/**
 * What can be checked before asking the server: the username's shape and the password's length,
 * visible characters, and not being the username. The server also refuses common passwords.
 */
function signUpProblem({ username, password }: Credentials): FieldError | null {
  if (!USERNAME_PATTERN.test(username)) {
    return new FieldError('username', sentence('username', 'must be 3 to 32 of a-z A-Z 0-9 _ . -'));
  }
  const shape = passwordRules().safeParse(password);
  if (!shape.success) {
    return new FieldError('password', sentence('password', shape.error.issues[0]?.message ?? ''));
  }
  if (password.trim().toLowerCase() === username.toLowerCase()) {
    return new FieldError('password', sentence('password', 'must not be the username'));
  }
  return null;
}

/** One form, two actions: "Sign in" with an account, or "Sign up" to create it from the same fields. */
export function SignIn({ onSignIn, onSignUp, initialError = null }: SignInProps) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [busy, setBusy] = useState<'in' | 'up' | null>(null);
  const [error, setError] = useState<string | null>(initialError);
  const [fieldError, setFieldError] = useState<FieldError | null>(null);
  const ids = {
    user: useId(),
    pass: useId(),
    name: useId(),
    hint: useId(),
    fieldError: useId(),
  };
  const inputs = {
    username: useRef<HTMLInputElement>(null),
    password: useRef<HTMLInputElement>(null),
    displayName: useRef<HTMLInputElement>(null),
  };

  function showFieldError(err: FieldError) {
    setFieldError(err);
    inputs[err.field].current?.focus();
  }

  async function run(action: 'in' | 'up') {
    if (busy) return;
    setError(null);
    setFieldError(null);
    if (!username.trim() || !password) {
      setError('Enter a username and a password.');
      return;
    }
    const credentials: Credentials = { username: username.trim(), password };
    if (action === 'up' && displayName.trim()) credentials.displayName = displayName.trim();
    const problem = action === 'up' ? signUpProblem(credentials) : null;
    if (problem) {
      showFieldError(problem);
      return;
    }
    setBusy(action);
    try {
      await (action === 'in' ? onSignIn : onSignUp)(credentials);
    } catch (err) {
      if (err instanceof FieldError) showFieldError(err);
      else setError(err instanceof Error ? err.message : 'Something went wrong.');
      setBusy(null);
    }
  }

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    // Enter in a field signs in; signing up takes its own button.
    void run('in');
  }

  /** The props that tie a field to its refusal, when it has one. */
  const invalid = (field: Field, describedBy?: string) => {
    const mine = fieldError?.field === field;
    const describedByIds = [describedBy, mine ? ids.fieldError : undefined].filter(Boolean);
    return {
      'aria-invalid': mine ? (true as const) : undefined,
      'aria-describedby': describedByIds.join(' ') || undefined,
    };
  };
  const refusal = (field: Field) =>
    fieldError?.field === field && (
      <p id={ids.fieldError} className="field-error">
        {fieldError.message}
      </p>
    );

  return (
    <main className="auth">
      <form className="auth-card" onSubmit={onSubmit} aria-labelledby="auth-title" noValidate>
        <div className="brand" aria-hidden="true">
          <span className="brand-mark" />
        </div>
        <h1 id="auth-title">Parley</h1>
        <p className="auth-sub">Sign in, or pick a username and password to sign up.</p>
        <FormError error={error} />
        <div className="field">
          <label htmlFor={ids.user}>Username</label>
          <input
            id={ids.user}
            ref={inputs.username}
            name="username"
            autoComplete="username"
            autoCapitalize="none"
            spellCheck={false}
            value={username}
            onChange={(e) => setUsername(e.target.value)}
            {...invalid('username', ids.hint)}
            required
          />
          {refusal('username')}
        </div>
        <div className="field">
          <label htmlFor={ids.pass}>Password</label>
          <input
            id={ids.pass}
            ref={inputs.password}
            name="password"
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            {...invalid('password', ids.hint)}
            required
          />
          {refusal('password')}
          <small id={ids.hint} className="hint">
            Usernames are 3–32 letters, digits, “_”, “.” or “-”. A new password needs at least 8
            characters, and cannot be your username or a common password.
          </small>
        </div>
        <div className="field">
          <label htmlFor={ids.name}>
            Display name <span className="optional">(optional, for sign up)</span>
          </label>
          <input
            id={ids.name}
            ref={inputs.displayName}
            name="displayName"
            autoComplete="name"
            value={displayName}
            onChange={(e) => setDisplayName(e.target.value)}
            {...invalid('displayName')}
          />
          {refusal('displayName')}
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
