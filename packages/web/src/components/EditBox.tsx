import { MESSAGE_MAX_LENGTH, codePointLength } from '@parley/protocol';
import { useEffect, useId, useRef, useState, type KeyboardEvent } from 'react';
import { reasonOf } from './messageActions.js';

interface EditBoxProps {
  initial: string;
  /** The message carries attachments: then, as when it was sent, it may say nothing. */
  mayBeEmpty?: boolean;
  /** Rejects with an Error whose message says what went wrong, in words. */
  onSave: (content: string) => Promise<void>;
  onDone: () => void;
}

function problem(content: string, mayBeEmpty: boolean): string | null {
  const length = codePointLength(content.trim());
  if (length === 0 && !mayBeEmpty) {
    return 'A message cannot be empty. To remove it, use Delete instead.';
  }
  if (length > MESSAGE_MAX_LENGTH) {
    return `This message is too long: ${length.toLocaleString()} characters, the limit is ${MESSAGE_MAX_LENGTH.toLocaleString()}.`;
  }
  return null;
}

/** Inline edit of one's own message: Enter saves, Shift+Enter breaks the line, Escape cancels. */
export function EditBox({ initial, mayBeEmpty = false, onSave, onDone }: EditBoxProps) {
  const [draft, setDraft] = useState(initial);
  const [error, setError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const ref = useRef<HTMLTextAreaElement>(null);
  const errorId = useId();

  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    el.focus();
    el.setSelectionRange(el.value.length, el.value.length);
  }, []);

  async function save() {
    if (saving) return;
    if (draft === initial) return onDone();
    const wrong = problem(draft, mayBeEmpty);
    if (wrong) return setError(wrong);
    setSaving(true);
    try {
      await onSave(draft);
      onDone();
    } catch (err) {
      setError(`Not saved. ${reasonOf(err)}`);
      setSaving(false);
    }
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key === 'Escape') {
      event.preventDefault();
      event.stopPropagation();
      onDone();
    } else if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      void save();
    }
  }

  return (
    <div className="edit-box">
      <textarea
        ref={ref}
        aria-label="Edit message"
        dir="auto"
        value={draft}
        rows={Math.min(6, draft.split('\n').length)}
        readOnly={saving}
        aria-invalid={error !== null}
        aria-describedby={error ? errorId : undefined}
        onChange={(e) => {
          setDraft(e.target.value);
          setError(null);
        }}
        onKeyDown={onKeyDown}
      />
      {error && (
        <p id={errorId} className="edit-error" role="alert">
          {error}
        </p>
      )}
      <div className="edit-actions">
        <span className="edit-hint">Enter to save, Escape to cancel</span>
        <button type="button" className="ghost small" onClick={onDone}>
          Cancel
        </button>
        <button
          type="button"
          className="primary small"
          disabled={saving}
          onClick={() => void save()}
        >
          {saving ? 'Saving…' : 'Save'}
        </button>
      </div>
    </div>
  );
}
