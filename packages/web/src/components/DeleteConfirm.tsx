import { useLayoutEffect, useState } from 'react';
import { Modal } from './Modal.js';
import { reasonOf } from './messageActions.js';

interface DeleteConfirmProps {
  /** Whose message it is, when not one's own: deleting someone else's is a moderator's act. */
  senderName: string | null;
  onDelete: () => Promise<void>;
  onClose: () => void;
}

/**
 * Keeps the app behind a modal out of reach (Modal leaves that to its caller). A layout effect,
 * so that on close the app is usable again before Modal puts focus back in it.
 */
function useInertApp() {
  useLayoutEffect(() => {
    const app = document.querySelector('.app');
    if (!app || app.hasAttribute('inert')) return;
    app.setAttribute('inert', '');
    return () => app.removeAttribute('inert');
  }, []);
}

/** "Delete message?": the message leaves for everyone, and only "Message deleted" stays. */
export function DeleteConfirm({ senderName, onDelete, onClose }: DeleteConfirmProps) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  useInertApp();

  async function confirm() {
    setBusy(true);
    setError(null);
    try {
      await onDelete();
      onClose();
    } catch (err) {
      setError(`Not deleted. ${reasonOf(err)}`);
      setBusy(false);
    }
  }

  return (
    <Modal title="Delete message?" onClose={onClose}>
      <p className="dialog-lead">
        {senderName
          ? `This deletes ${senderName}'s message for everyone in the chat.`
          : 'This deletes your message for everyone in the chat.'}{' '}
        It will read &ldquo;Message deleted&rdquo;. This cannot be undone.
      </p>
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      <div className="dialog-actions">
        <button type="button" className="ghost" onClick={onClose}>
          Cancel
        </button>
        <button type="button" className="danger" disabled={busy} onClick={() => void confirm()}>
          Delete message
        </button>
      </div>
    </Modal>
  );
}
