import type { Chat } from '@parley/protocol';
import { useId, useRef, useState, type FormEvent } from 'react';
import { errorText } from '../client/errors.js';
import { nameWithHandle } from '../state.js';
import { FormError } from './FormError.js';
import { GROUP_NAME_MAX, groupNameProblem, heirOf, roleOf } from './groupRules.js';
import { Modal } from './Modal.js';

interface RenameGroupDialogProps {
  chat: Chat;
  rename: (name: string) => Promise<void>;
  onDone: () => void;
  onClose: () => void;
}

/** The group's name in a field; what the server would refuse is said at the field first. */
export function RenameGroupDialog({ chat, rename, onDone, onClose }: RenameGroupDialogProps) {
  const [name, setName] = useState(chat.name ?? '');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const fieldId = useId();
  const hintId = useId();
  const errorId = useId();
  const field = useRef<HTMLInputElement>(null);

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (busy) return;
    const wanted = name.trim();
    const problem = groupNameProblem(wanted);
    if (problem) {
      setError(problem);
      field.current?.focus();
      return;
    }
    // The same name changes nothing (and the server would write no line about it).
    if (wanted === chat.name) {
      onDone();
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await rename(wanted);
      onDone();
    } catch (err) {
      setError(`Could not rename the group: ${errorText(err)}`);
      setBusy(false);
    }
  }

  return (
    <Modal title="Rename group" onClose={onClose}>
      <form className="dialog-form" onSubmit={(e) => void onSubmit(e)} noValidate>
        <div className="field">
          <label htmlFor={fieldId}>Group name</label>
          <input
            ref={field}
            id={fieldId}
            value={name}
            autoComplete="off"
            dir="auto"
            aria-invalid={error ? true : undefined}
            aria-describedby={error ? `${errorId} ${hintId}` : hintId}
            onChange={(e) => setName(e.target.value)}
          />
          <span className="hint" id={hintId}>
            Everyone in the group sees the new name, with a line saying who changed it. Up to{' '}
            {GROUP_NAME_MAX} characters.
          </span>
        </div>
        {error && (
          <p className="form-error" role="alert" id={errorId}>
            {error}
          </p>
        )}
        <div className="dialog-actions group-dialog-actions">
          <button type="button" className="ghost" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={busy}>
            Save
          </button>
        </div>
      </form>
    </Modal>
  );
}

interface LeaveChatDialogProps {
  chat: Chat;
  meId: string;
  title: string;
  leave: () => Promise<void>;
  onDone: () => void;
  onClose: () => void;
}

/**
 * What leaving means, before it happens: a group's owner learns who it passes to; in a direct
 * chat, how to come back (opening it again, which brings the history back too).
 */
export function LeaveChatDialog({
  chat,
  meId,
  title,
  leave,
  onDone,
  onClose,
}: LeaveChatDialogProps) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const group = chat.type === 'group';
  const owner = roleOf(chat, meId) === 'owner';
  const heir = owner ? heirOf(chat, meId) : undefined;

  async function confirm() {
    setBusy(true);
    setError(null);
    try {
      await leave();
      onDone();
    } catch (err) {
      setError(`Could not leave the ${group ? 'group' : 'chat'}: ${errorText(err)}`);
      setBusy(false);
    }
  }

  return (
    <Modal title={`Leave “${title}”?`} onClose={onClose}>
      {group ? (
        <p className="dialog-lead">
          The group leaves your chat list and you stop receiving its messages. The others see a line
          saying you left. To come back, an owner or admin has to add you again.
        </p>
      ) : (
        <p className="dialog-lead">
          The chat leaves your chat list and you stop receiving its messages.
          {chat.participants.length > 1 && ` ${title} sees a line saying you left.`} Starting a chat
          with them again, or their starting one with you, brings it back with its history. To keep
          them from doing so, block them.
        </p>
      )}
      {owner && heir && (
        <p className="leave-owner">
          You own this group. When you leave, it passes to {nameWithHandle(heir)},{' '}
          {heir.role === 'admin'
            ? 'its longest-standing admin'
            : 'its longest-standing member (there is no admin)'}
          , who becomes its owner.
        </p>
      )}
      {owner && !heir && (
        <p className="leave-owner">
          You are the only one left in this group: once you leave, nobody can open it again.
        </p>
      )}
      <FormError error={error} />
      <div className="dialog-actions group-dialog-actions">
        <button type="button" className="ghost" onClick={onClose}>
          Cancel
        </button>
        <button type="button" className="danger" disabled={busy} onClick={() => void confirm()}>
          {group ? 'Leave group' : 'Leave chat'}
        </button>
      </div>
    </Modal>
  );
}
