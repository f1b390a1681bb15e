import { MESSAGE_MAX_LENGTH, codePointLength } from '@parley/protocol';
import {
  useEffect,
  useId,
  useLayoutEffect,
  useRef,
  useState,
  type FormEvent,
  type KeyboardEvent,
} from 'react';

interface ComposerProps {
  onSend: (content: string) => void;
  /** Called on each edit that leaves text in the field. */
  onTyping: () => void;
  /** Called when the field is emptied or left. */
  onStopTyping: () => void;
}

/** Show the count only as the limit comes near. */
const COUNTER_FROM = MESSAGE_MAX_LENGTH - 500;
const MAX_HEIGHT_PX = 180;

const tooLongText = (length: number) =>
  `This message is too long: ${length.toLocaleString()} characters, the limit is ${MESSAGE_MAX_LENGTH.toLocaleString()}.`;

export function Composer({ onSend, onTyping, onStopTyping }: ComposerProps) {
  const [draft, setDraft] = useState('');
  const [error, setError] = useState<string | null>(null);
  const ref = useRef<HTMLTextAreaElement>(null);
  const ids = { field: useId(), error: useId(), counter: useId() };
  const length = codePointLength(draft.trim());
  const tooLong = length > MESSAGE_MAX_LENGTH;
  const shownError = error ?? (tooLong ? tooLongText(length) : null);

  // Opening a chat puts the cursor in the field, except on touch screens, where that would
  // pop up the keyboard over the conversation.
  useEffect(() => {
    if (window.matchMedia?.('(pointer: fine)').matches) ref.current?.focus();
  }, []);

  // Grow with the text, up to a few lines, then scroll.
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    el.style.height = 'auto';
    el.style.height = `${Math.min(el.scrollHeight, MAX_HEIGHT_PX)}px`;
  }, [draft]);

  function submit() {
    if (length === 0) return;
    if (tooLong) {
      setError(tooLongText(length));
      return;
    }
    onSend(draft);
    setDraft('');
    setError(null);
    ref.current?.focus();
  }

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    submit();
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    // Enter sends; Shift+Enter breaks the line; Enter that confirms an IME composition does neither.
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      submit();
    }
  }

  return (
    <form className="composer" onSubmit={onSubmit}>
      {shownError && (
        <p id={ids.error} className="composer-error" role="alert">
          {shownError}
        </p>
      )}
      <div className="composer-row">
        <label htmlFor={ids.field} className="sr-only">
          Message
        </label>
        <textarea
          id={ids.field}
          ref={ref}
          rows={1}
          value={draft}
          placeholder="Write a message…"
          aria-invalid={tooLong}
          aria-describedby={
            [shownError ? ids.error : '', length >= COUNTER_FROM ? ids.counter : '']
              .filter(Boolean)
              .join(' ') || undefined
          }
          onChange={(e) => {
            setDraft(e.target.value);
            setError(null);
            if (e.target.value.trim()) onTyping();
            else onStopTyping();
          }}
          onBlur={onStopTyping}
          onKeyDown={onKeyDown}
        />
        <button type="submit" className="send-button">
          Send
        </button>
      </div>
      {length >= COUNTER_FROM && (
        <div id={ids.counter} className={`counter${tooLong ? ' over' : ''}`}>
          {length.toLocaleString()} / {MESSAGE_MAX_LENGTH.toLocaleString()}
        </div>
      )}
    </form>
  );
}
