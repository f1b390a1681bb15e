import { UpdateMeRequest, password as passwordRules, type Me, type User } from '@parley/protocol';
import { useId, useRef, useState, type FormEvent } from 'react';
import { ApiError, describeError } from '../api.js';
import { BlockedUsers } from './dialogs.js';
import { FieldError, sentence, validationError } from './fieldErrors.js';
import { FormError } from './FormError.js';
import { Modal } from './Modal.js';

/** What the account's own settings do; each rejects with the server's error (an ApiError). */
export interface AccountActions {
  /** The new name shows at once wherever this app shows mine. */
  changeDisplayName: (displayName: string) => Promise<void>;
  /** Every other session of the account ends; this one goes on with the new token. */
  changePassword: (currentPassword: string, newPassword: string) => Promise<void>;
}

interface ProfileDialogProps {
  me: Me;
  account: AccountActions;
  /** null while loading. */
  blocked: readonly User[] | null;
  loadBlocked: () => Promise<void>;
  unblock: (userId: string) => Promise<void>;
  /** Resolves once signed out; rejects when the server could not be told (the session goes on). */
  signOutEverywhere: () => Promise<void>;
  onClose: () => void;
}

type PasswordField = 'currentPassword' | 'newPassword';

const NAME_FIELDS = { displayName: { field: 'displayName', label: 'Display name' } };
const PASSWORD_FIELDS = {
  currentPassword: { field: 'currentPassword', label: 'Current password' },
  newPassword: { field: 'newPassword', label: 'New password' },
};

/** A refused name change, in words, at the field when it is the name's fault. */
export function displayNameError(err: unknown): Error {
  if (!(err instanceof ApiError)) return new Error('Something went wrong.');
  return validationError(err, NAME_FIELDS) ?? new Error(describeError(err.code, err.message));
}

/**
 * A refused password change, in words: a wrong current password or too many of them at the
 * current password, a weak new one at the new password. Another 401 is the session's end.
 */
export function passwordChangeError(err: unknown): Error {
  if (!(err instanceof ApiError)) return new Error('Something went wrong.');
  if (err.code === 'unauthorized' && err.message === 'wrong password') {
    return new FieldError('currentPassword', 'That is not your current password.');
  }
  if (err.code === 'rate_limited') {
    return new FieldError(
      'currentPassword',
      'Too many wrong passwords. Wait a minute, then try again.',
    );
  }
  return validationError(err, PASSWORD_FIELDS) ?? new Error(describeError(err.code, err.message));
}

/** The refusal of a new name that needs no server: empty, too long, invisible, bidi controls. */
function nameProblem(name: string): FieldError | null {
  if (!name) return new FieldError('displayName', 'Enter a display name.');
  const shape = UpdateMeRequest.shape.displayName.safeParse(name);
  if (shape.success) return null;
  return new FieldError(
    'displayName',
    sentence('Display name', shape.error.issues[0]?.message ?? ''),
  );
}

/** The same rules as signing up: the server also refuses the commonest passwords. */
function passwordProblem(me: Me, current: string, next: string): FieldError | null {
  if (!current) return new FieldError('currentPassword', 'Enter your current password.');
  if (!next) return new FieldError('newPassword', 'Enter a new password.');
  const shape = passwordRules().safeParse(next);
  if (!shape.success) {
    return new FieldError(
      'newPassword',
      sentence('New password', shape.error.issues[0]?.message ?? ''),
    );
  }
  if (next.trim().toLowerCase() === me.username.toLowerCase()) {
    return new FieldError('newPassword', 'New password must not be your username.');
  }
  return null;
}

/** The props that tie a field to its refusal (and to a hint), and the refusal's paragraph. */
function useFieldError<F extends string>() {
  const [error, setError] = useState<FieldError | null>(null);
  const id = useId();
  const describe = (field: F, hint?: string) => {
    const mine = error?.field === field;
    const ids = [hint, mine ? id : undefined].filter(Boolean).join(' ');
    return {
      'aria-invalid': mine ? (true as const) : undefined,
      'aria-describedby': ids || undefined,
    };
  };
  const refusal = (field: F) =>
    error?.field === field && (
      <p id={id} className="field-error">
        {error.message}
      </p>
    );
  return { error, setError, describe, refusal };
}

/**
 * The account's own settings in one dialog: the display name, the password, the people blocked,
 * and signing out everywhere. Each part says how it went beside itself.
 */
export function ProfileDialog({
  me,
  account,
  blocked,
  loadBlocked,
  unblock,
  signOutEverywhere,
  onClose,
}: ProfileDialogProps) {
  const ids = {
    name: useId(),
    current: useId(),
    next: useId(),
    hint: useId(),
    passwordHeading: useId(),
    blockedHeading: useId(),
    sessionsHeading: useId(),
  };

  // ---- display name
  const [name, setName] = useState(me.display_name);
  const [nameBusy, setNameBusy] = useState(false);
  const [nameDone, setNameDone] = useState<string | null>(null);
  const [nameFailure, setNameFailure] = useState<string | null>(null);
  const nameField = useFieldError<'displayName'>();
  const nameInput = useRef<HTMLInputElement>(null);

  async function saveName(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (nameBusy) return;
    setNameDone(null);
    setNameFailure(null);
    nameField.setError(null);
    const wanted = name.trim();
    const refused = nameProblem(wanted);
    if (refused) {
      nameField.setError(refused);
      nameInput.current?.focus();
      return;
    }
    setNameBusy(true);
    try {
      await account.changeDisplayName(wanted);
      setName(wanted);
      setNameDone('Display name saved.');
    } catch (err) {
      const failure = displayNameError(err);
      if (failure instanceof FieldError) {
        nameField.setError(failure);
        nameInput.current?.focus();
      } else {
        setNameFailure(failure.message);
      }
    }
    setNameBusy(false);
  }

  // ---- password
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [passwordBusy, setPasswordBusy] = useState(false);
  const [passwordDone, setPasswordDone] = useState(false);
  const [passwordFailure, setPasswordFailure] = useState<string | null>(null);
  const passwordField = useFieldError<PasswordField>();
  const passwordInputs = {
    currentPassword: useRef<HTMLInputElement>(null),
    newPassword: useRef<HTMLInputElement>(null),
  };

  function refusePassword(err: FieldError) {
    passwordField.setError(err);
    if (err.field === 'currentPassword' || err.field === 'newPassword') {
      passwordInputs[err.field].current?.focus();
    }
  }

  async function savePassword(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (passwordBusy) return;
    setPasswordDone(false);
    setPasswordFailure(null);
    passwordField.setError(null);
    const refused = passwordProblem(me, current, next);
    if (refused) {
      refusePassword(refused);
      return;
    }
    setPasswordBusy(true);
    try {
      await account.changePassword(current, next);
      setCurrent('');
      setNext('');
      setPasswordDone(true);
    } catch (err) {
      const failure = passwordChangeError(err);
      if (failure instanceof FieldError) refusePassword(failure);
      else setPasswordFailure(failure.message);
    }
    setPasswordBusy(false);
  }

  // ---- sessions
  const [leaving, setLeaving] = useState(false);
  const [leaveFailure, setLeaveFailure] = useState<string | null>(null);

  function leaveEverywhere() {
    if (leaving) return;
    setLeaving(true);
    setLeaveFailure(null);
    signOutEverywhere().catch((err: unknown) => {
      setLeaving(false);
      setLeaveFailure(
        `Could not sign out everywhere: ${
          err instanceof ApiError ? describeError(err.code, err.message) : 'something went wrong.'
        }`,
      );
    });
  }

  return (
    <Modal title="Profile" onClose={onClose}>
      <p className="dialog-lead">
        Signed in as <strong>@{me.username}</strong>
      </p>

      <form className="profile-section" onSubmit={(e) => void saveName(e)} noValidate>
        <FormError error={nameFailure} />
        <div className="field">
          <label htmlFor={ids.name}>Display name</label>
          <input
            id={ids.name}
            ref={nameInput}
            name="displayName"
            autoComplete="name"
            value={name}
            onChange={(e) => {
              setName(e.target.value);
              setNameDone(null);
            }}
            {...nameField.describe('displayName')}
          />
          {nameField.refusal('displayName')}
        </div>
        <div className="profile-actions">
          <p className="profile-done" role="status">
            {nameDone}
          </p>
          <button type="submit" className="primary" disabled={nameBusy}>
            {nameBusy ? 'Saving…' : 'Save name'}
          </button>
        </div>
      </form>

      <form
        className="profile-section"
        aria-labelledby={ids.passwordHeading}
        onSubmit={(e) => void savePassword(e)}
        noValidate
      >
        <h3 id={ids.passwordHeading}>Change password</h3>
        {/* Password managers file the new password under this username. */}
        <input
          hidden
          readOnly
          type="text"
          name="username"
          autoComplete="username"
          value={me.username}
        />
        <FormError error={passwordFailure} />
        <div className="field">
          <label htmlFor={ids.current}>Current password</label>
          <input
            id={ids.current}
            ref={passwordInputs.currentPassword}
            name="currentPassword"
            type="password"
            autoComplete="current-password"
            value={current}
            onChange={(e) => setCurrent(e.target.value)}
            {...passwordField.describe('currentPassword')}
          />
          {passwordField.refusal('currentPassword')}
        </div>
        <div className="field">
          <label htmlFor={ids.next}>New password</label>
          <input
            id={ids.next}
            ref={passwordInputs.newPassword}
            name="newPassword"
            type="password"
            autoComplete="new-password"
            value={next}
            onChange={(e) => {
              setNext(e.target.value);
              setPasswordDone(false);
            }}
            {...passwordField.describe('newPassword', ids.hint)}
          />
          {passwordField.refusal('newPassword')}
          <small id={ids.hint} className="hint">
            At least 8 characters; not your username or a common password.
          </small>
        </div>
        <div className="profile-actions">
          <p className="profile-done" role="status">
            {passwordDone && 'Password changed. Your other devices are signed out.'}
          </p>
          <button type="submit" className="primary" disabled={passwordBusy}>
            {passwordBusy ? 'Changing…' : 'Change password'}
          </button>
        </div>
      </form>

      <section className="profile-section" aria-labelledby={ids.blockedHeading}>
        <h3 id={ids.blockedHeading}>Blocked users</h3>
        <BlockedUsers blocked={blocked} load={loadBlocked} unblock={unblock} />
      </section>

      <section className="profile-section" aria-labelledby={ids.sessionsHeading}>
        <h3 id={ids.sessionsHeading}>Sessions</h3>
        <p className="hint">Signs out this browser and every other device signed in as you.</p>
        <FormError error={leaveFailure} />
        <div className="profile-actions">
          <button type="button" className="secondary" disabled={leaving} onClick={leaveEverywhere}>
            Sign out everywhere
          </button>
        </div>
      </section>
    </Modal>
  );
}
