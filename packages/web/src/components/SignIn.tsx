import { USERNAME_PATTERN, password as passwordRules } from '@parley/protocol';
import { useId, useRef, useState, type FormEvent } from 'react';
import { ApiError, describeError } from '../api.js';
import { FieldError, sentence as sentenceOf, validationError } from './fieldErrors.js';
import { FormError } from './FormError.js';

export { FieldError };

export interface Credentials {
  username: string;
  password: string;
  displayName?: string;
}

export type Field = 'username' | 'password' | 'displayName';
type Action = 'in' | 'up';

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
const FIELDS = Object.keys(LABELS) as Field[];
const isField = (name: string): name is Field => (FIELDS as string[]).includes(name);

/** "must be at least 8 characters" under Password reads "Password must be at least 8 characters." */
export const sentence = (field: Field, rule: string): string => sentenceOf(LABELS[field], rule);

/**
 * A failed sign-in or sign-up in words: a refusal of one field (the server names it by its
 * path, "body.password: is one of the most common passwords") goes under that field. A taken
 * name is the username's: this form has no email that could be the one taken.
 */
export function signInError(err: unknown, action: Action): Error {
  if (!(err instanceof ApiError)) return new Error('Something went wrong.');
  if (action === 'in' && err.code === 'unauthorized') {
    return new Error('Wrong username or password.');
  }
  if (action === 'up' && err.code === 'conflict') {
    return new FieldError('username', 'That username is taken. Pick another, or sign in.');
  }
  const names = Object.fromEntries(FIELDS.map((field) => [field, { field, label: LABELS[field] }]));
  return validationError(err, names) ?? new Error(describeError(err.code, err.message));
}

/**
 * What can be checked before asking the server: both fields given, and for a new account the
 * username's shape and the password's length, visible characters, and not being the username.
 * The server also refuses common passwords.
 */
function problem(action: Action, { username, password }: Credentials): FieldError | null {
  if (!username) return new FieldError('username', 'Enter a username.');
  if (!password) return new FieldError('password', 'Enter a password.');
  if (action === 'in') return null;
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

/**
 * Signing in and signing up share the fields: the form is in one mode at a time, which decides
 * what Enter does, which button leads, and what password managers are told (a current password
 * to fill in, or a new one to generate). The other action's button switches mode; with a
 * username and password already typed it also acts on them at once, so that one click from the
 * sign-in form creates an account.
 */
export function SignIn({ onSignIn, onSignUp, initialError = null }: SignInProps) {
  const [mode, setMode] = useState<Action>('in');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [busy, setBusy] = useState<Action | null>(null);
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
    if (isField(err.field)) inputs[err.field].current?.focus();
  }

  async function run(action: Action) {
    if (busy) return;
    setError(null);
    setFieldError(null);
    const credentials: Credentials = { username: username.trim(), password };
    if (action === 'up' && displayName.trim()) credentials.displayName = displayName.trim();
    const refused = problem(action, credentials);
    if (refused) {
      showFieldError(refused);
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
    void run(mode);
  }

  /** The other mode's button: switches to it, and acts when there is something to act on. */
  function other(action: Action) {
    if (busy) return;
    setMode(action);
    setError(null);
    setFieldError(null);
    if (username.trim() && password) void run(action);
    else inputs.username.current?.focus();
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
  const signingUp = mode === 'up';
  // The same two buttons in the same places in both modes: only which one Enter presses moves.
  const button = (action: Action) => {
    const label = action === 'in' ? 'Sign in' : 'Sign up';
    const working = action === 'in' ? 'Signing in…' : 'Signing up…';
    return (
      <button
        type={action === mode ? 'submit' : 'button'}
        className={action === mode ? 'primary' : 'secondary'}
        disabled={busy !== null}
        onClick={action === mode ? undefined : () => other(action)}
      >
        {busy === action ? working : label}
      </button>
    );
  };

  return (
    <main className="auth">
      <form
        className="auth-card"
        onSubmit={onSubmit}
        aria-labelledby="auth-title"
        aria-describedby="auth-sub"
        noValidate
      >
        <div className="brand" aria-hidden="true">
          <span className="brand-mark" />
        </div>
        <h1 id="auth-title">Parley</h1>
        <p id="auth-sub" className="auth-sub">
          {signingUp
            ? 'Create an account: pick a username and a password.'
            : 'Sign in, or choose Sign up to create an account.'}
        </p>
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
            {...invalid('username', signingUp ? ids.hint : undefined)}
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
            autoComplete={signingUp ? 'new-password' : 'current-password'}
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            {...invalid('password', signingUp ? ids.hint : undefined)}
            required
          />
          {refusal('password')}
          {signingUp && (
            <small id={ids.hint} className="hint">
              Usernames are 3–32 letters, digits, “_”, “.” or “-”. A new password needs at least 8
              characters, and cannot be your username or a common password.
            </small>
          )}
        </div>
        {signingUp && (
          <div className="field">
            <label htmlFor={ids.name}>
              Display name <span className="optional">(optional)</span>
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
        )}
        <div className="auth-actions">
          {button('in')}
          {button('up')}
        </div>
      </form>
    </main>
  );
}
