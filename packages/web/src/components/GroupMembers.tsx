import type { Chat, Participant } from '@parley/protocol';
import { useEffect, useId, useRef, useState } from 'react';
import { errorText } from '../client/errors.js';
import { presenceText } from '../format.js';
import { nameWithHandle } from '../state.js';
import { Avatar } from './Avatar.js';
import { FormError } from './FormError.js';
import { canChangeRole, canRemove, roleLabel, sortedMembers } from './groupRules.js';
import { Modal } from './Modal.js';

interface GroupMembersDialogProps {
  /** The chat as the store holds it now: chat:updated re-renders the list. */
  chat: Chat;
  meId: string;
  title: string;
  now: Date;
  setRole: (userId: string, role: 'admin' | 'member') => Promise<void>;
  remove: (userId: string) => Promise<void>;
  onClose: () => void;
}

/**
 * Who is in the group, with their role and presence. The owner can make others admins (and
 * members again); an owner or admin can remove anyone but the owner, after a confirmation in the
 * row. Only what the server would accept is offered.
 */
export function GroupMembersDialog(props: GroupMembersDialogProps) {
  const { chat, meId, now } = props;
  const [busy, setBusy] = useState<string | null>(null);
  const [confirming, setConfirming] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState('');
  const listRef = useRef<HTMLUListElement>(null);
  const members = sortedMembers(chat);
  const count = members.length;

  async function changeRole(p: Participant, role: 'admin' | 'member') {
    if (busy) return;
    setBusy(p.id);
    setError(null);
    try {
      await props.setRole(p.id, role);
      setStatus(
        role === 'admin'
          ? `${p.display_name} is now an admin.`
          : `${p.display_name} is now a member.`,
      );
    } catch (err) {
      setError(`Could not change ${p.display_name}’s role: ${errorText(err)}`);
    }
    setBusy(null);
  }

  async function remove(p: Participant) {
    if (busy) return;
    setBusy(p.id);
    setError(null);
    try {
      await props.remove(p.id);
      setConfirming(null);
      setStatus(`${p.display_name} was removed from the group.`);
      // Their row is gone, and focus with it: the list keeps the place.
      listRef.current?.focus();
    } catch (err) {
      setError(`Could not remove ${p.display_name}: ${errorText(err)}`);
    }
    setBusy(null);
  }

  return (
    <Modal title={`Members of ${props.title}`} onClose={props.onClose}>
      <p className="dialog-lead">{count === 1 ? '1 member' : `${count} members`}</p>
      <FormError error={error} />
      <ul className="member-list" aria-label="Members" ref={listRef} tabIndex={-1}>
        {members.map((p) => (
          <MemberRow
            key={p.id}
            chat={chat}
            participant={p}
            meId={meId}
            now={now}
            busy={busy === p.id}
            confirming={confirming === p.id && canRemove(chat, meId, p)}
            onRole={(role) => void changeRole(p, role)}
            onAskRemove={() => setConfirming(p.id)}
            onCancelRemove={() => setConfirming(null)}
            onRemove={() => void remove(p)}
          />
        ))}
      </ul>
      <p className="sr-only" role="status">
        {status}
      </p>
    </Modal>
  );
}

interface MemberRowProps {
  chat: Chat;
  participant: Participant;
  meId: string;
  now: Date;
  busy: boolean;
  confirming: boolean;
  onRole: (role: 'admin' | 'member') => void;
  onAskRemove: () => void;
  onCancelRemove: () => void;
  onRemove: () => void;
}

function MemberRow(props: MemberRowProps) {
  const { chat, participant: p, meId } = props;
  const nameId = useId();
  const isMe = p.id === meId;
  const role = roleLabel(p.role);
  const presence = isMe ? '' : presenceText(p, props.now);
  const cancelRef = useRef<HTMLButtonElement>(null);
  const removeRef = useRef<HTMLButtonElement>(null);
  const cancelled = useRef(false);

  // Into the confirmation on its safe choice; back to the button that opened it on Cancel (after
  // a removal the row goes, and the list takes focus).
  useEffect(() => {
    if (props.confirming) cancelRef.current?.focus();
    else if (cancelled.current) removeRef.current?.focus();
    cancelled.current = false;
  }, [props.confirming]);

  function cancel() {
    cancelled.current = true;
    props.onCancelRemove();
  }

  return (
    <li className="member" aria-busy={props.busy || undefined}>
      <Avatar id={p.id} name={p.display_name} size="sm" status={isMe ? undefined : p.status} />
      <span className="member-names">
        <span className="member-name" id={nameId}>
          {p.display_name}
          {isMe && ' (you)'}
        </span>
        <span className="member-meta">
          <span className="member-handle">@{p.username}</span>
          {role && <span className={`role-badge role-${p.role}`}>{role}</span>}
          {presence && (
            <span className={`member-presence${p.status === 'online' ? ' online' : ''}`}>
              {presence}
            </span>
          )}
        </span>
      </span>
      {props.confirming ? (
        <span className="member-confirm">
          <span className="member-confirm-text">Remove {nameWithHandle(p)} from the group?</span>
          <span className="member-actions">
            <button ref={cancelRef} type="button" className="ghost small" onClick={cancel}>
              Cancel
            </button>
            <button
              type="button"
              className="danger small"
              aria-describedby={nameId}
              onClick={props.onRemove}
            >
              Remove
            </button>
          </span>
        </span>
      ) : (
        <span className="member-actions">
          {/* Every row's buttons carry the same names; the person they act on is their description. */}
          {canChangeRole(chat, meId, p) && p.role !== 'owner' && (
            <button
              type="button"
              className="secondary small"
              aria-describedby={nameId}
              onClick={() => props.onRole(p.role === 'admin' ? 'member' : 'admin')}
            >
              {p.role === 'admin' ? 'Make member' : 'Make admin'}
            </button>
          )}
          {canRemove(chat, meId, p) && (
            <button
              ref={removeRef}
              type="button"
              className="ghost small member-remove"
              aria-describedby={nameId}
              onClick={props.onAskRemove}
            >
              Remove from group
            </button>
          )}
        </span>
      )}
    </li>
  );
}
