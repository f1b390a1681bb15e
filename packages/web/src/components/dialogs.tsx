import type { Chat, User } from '@parley/protocol';
import { useEffect, useId, useState, type FormEvent } from 'react';
import { ApiError, describeError } from '../api.js';
import { nameWithHandle } from '../state.js';
import { Modal } from './Modal.js';
import { FormError } from './FormError.js';
import { UserSearch } from './UserSearch.js';

/** What went wrong, in words: the server's own reason where it names one (a block, a limit). */
function message(err: unknown): string {
  if (!(err instanceof ApiError)) {
    return err instanceof Error ? err.message : 'Something went wrong.';
  }
  if (err.code === 'rate_limited') {
    return 'You have started many chats in the last hour. Wait a while, then try again.';
  }
  return describeError(err.code, err.message);
}

/** The people of one's chats, offered before anything is typed (recentPeople). */
type Recent = readonly User[];

interface NewChatDialogProps {
  search: (q: string) => Promise<User[]>;
  recent?: Recent;
  openDirect: (userId: string) => Promise<Chat>;
  onDone: (chat: Chat) => void;
  onClose: () => void;
}

/** Pick one person: their direct chat opens, created if it did not exist. */
export function NewChatDialog({ search, recent, openDirect, onDone, onClose }: NewChatDialogProps) {
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  async function choose(user: User) {
    setBusy(user.id);
    setError(null);
    try {
      onDone(await openDirect(user.id));
    } catch (err) {
      setError(message(err));
      setBusy(null);
    }
  }

  return (
    <Modal title="New chat" onClose={onClose}>
      <p className="dialog-lead">Who do you want to talk to?</p>
      <FormError error={error} />
      <UserSearch
        search={search}
        suggestions={recent}
        onChoose={(u) => void choose(u)}
        busyUserId={busy}
      />
    </Modal>
  );
}

interface NewGroupDialogProps {
  search: (q: string) => Promise<User[]>;
  recent?: Recent;
  createGroup: (name: string, participantIds: string[]) => Promise<Chat>;
  onDone: (chat: Chat) => void;
  onClose: () => void;
}

export function NewGroupDialog({
  search,
  recent,
  createGroup,
  onDone,
  onClose,
}: NewGroupDialogProps) {
  const [name, setName] = useState('');
  const [picked, setPicked] = useState<User[]>([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const nameId = useId();

  function toggle(user: User) {
    setPicked((current) =>
      current.some((u) => u.id === user.id)
        ? current.filter((u) => u.id !== user.id)
        : [...current, user],
    );
  }

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (busy) return;
    if (!name.trim()) {
      setError('Give the group a name.');
      return;
    }
    if (picked.length === 0) {
      setError('Pick at least one person to invite.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      onDone(
        await createGroup(
          name.trim(),
          picked.map((u) => u.id),
        ),
      );
    } catch (err) {
      setError(message(err));
      setBusy(false);
    }
  }

  return (
    <Modal title="New group" onClose={onClose}>
      <form className="dialog-form" onSubmit={(e) => void onSubmit(e)} noValidate>
        <div className="field">
          <label htmlFor={nameId}>Group name</label>
          <input
            id={nameId}
            value={name}
            maxLength={100}
            autoComplete="off"
            onChange={(e) => setName(e.target.value)}
          />
        </div>
        <UserSearch
          search={search}
          suggestions={recent}
          pinned={picked}
          selected={new Set(picked.map((u) => u.id))}
          onChoose={toggle}
        />
        <p className="picked-summary" aria-live="polite">
          {picked.length === 0
            ? 'Nobody picked yet.'
            : `${picked.length} picked: ${picked.map((u) => u.display_name).join(', ')}`}
        </p>
        <FormError error={error} />
        <div className="dialog-actions">
          <button type="submit" className="primary" disabled={busy}>
            Create group
          </button>
        </div>
      </form>
    </Modal>
  );
}

interface AddPeopleDialogProps {
  chat: Chat;
  title: string;
  search: (q: string) => Promise<User[]>;
  recent?: Recent;
  addParticipant: (chatId: string, userId: string) => Promise<Chat>;
  onDone: (chat: Chat, user: User) => void;
  onClose: () => void;
}

/** Pick a person: they join the group at once. */
export function AddPeopleDialog({
  chat,
  title,
  search,
  recent,
  addParticipant,
  onDone,
  onClose,
}: AddPeopleDialogProps) {
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const members = new Set(chat.participants.map((p) => p.id));

  async function choose(user: User) {
    setBusy(user.id);
    setError(null);
    try {
      onDone(await addParticipant(chat.id, user.id), user);
    } catch (err) {
      setError(message(err));
      setBusy(null);
    }
  }

  return (
    <Modal title={`Add people to ${title}`} onClose={onClose}>
      <FormError error={error} />
      <UserSearch
        search={search}
        suggestions={recent}
        exclude={members}
        onChoose={(u) => void choose(u)}
        busyUserId={busy}
      />
    </Modal>
  );
}

interface BlockDialogProps {
  user: User;
  block: (user: User) => Promise<void>;
  onDone: () => void;
  onClose: () => void;
}

/** Asks before blocking, and says what blocking does. */
export function BlockDialog({ user, block, onDone, onClose }: BlockDialogProps) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function confirm() {
    setBusy(true);
    setError(null);
    try {
      await block(user);
      onDone();
    } catch (err) {
      setError(message(err));
      setBusy(false);
    }
  }

  return (
    <Modal title={`Block ${user.display_name}?`} onClose={onClose}>
      <p className="dialog-lead">
        {nameWithHandle(user)} will not be able to write to you in your direct chat, start a chat
        with you or add you to a group. Chats you already share stay. You can unblock them at any
        time.
      </p>
      <FormError error={error} />
      <div className="dialog-actions">
        <button type="button" className="ghost" onClick={onClose}>
          Cancel
        </button>
        <button type="button" className="danger" disabled={busy} onClick={() => void confirm()}>
          Block
        </button>
      </div>
    </Modal>
  );
}

interface BlockedUsersProps {
  /** null while loading. */
  blocked: readonly User[] | null;
  load: () => Promise<void>;
  unblock: (userId: string) => Promise<void>;
}

/** The people I blocked, each with an Unblock button (shown in the Profile dialog). */
export function BlockedUsers({ blocked, load, unblock }: BlockedUsersProps) {
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    load().catch((err: unknown) => setError(message(err)));
  }, [load]);

  async function onUnblock(user: User) {
    setBusy(user.id);
    setError(null);
    try {
      await unblock(user.id);
    } catch (err) {
      setError(message(err));
    }
    setBusy(null);
  }

  return (
    <>
      <FormError error={error} />
      {blocked === null ? (
        <p className="dialog-lead">Loading…</p>
      ) : blocked.length === 0 ? (
        <p className="dialog-lead">You have not blocked anyone.</p>
      ) : (
        <ul className="blocked-list" aria-label="Blocked users">
          {blocked.map((user) => (
            <li key={user.id}>
              <span className="user-result-names">
                <span className="user-result-name">{user.display_name}</span>
                <span className="user-result-handle">@{user.username}</span>
              </span>
              <button
                type="button"
                className="secondary small"
                aria-label={`Unblock ${user.username}`}
                disabled={busy !== null}
                onClick={() => void onUnblock(user)}
              >
                Unblock
              </button>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}
