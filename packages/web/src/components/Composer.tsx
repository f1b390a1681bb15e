import { MESSAGE_MAX_LENGTH, codePointLength, type Participant } from '@parley/protocol';
import {
  useEffect,
  useId,
  useLayoutEffect,
  useRef,
  useState,
  type FormEvent,
  type KeyboardEvent,
} from 'react';
import { loadDraft, saveDraft } from '../drafts.js';
import { MentionList, useMentionSuggest } from './MentionSuggest.js';
import { ReplyBar } from './ReplyBar.js';

interface ComposerProps {
  onSend: (content: string) => void;
  /** Called on each edit that leaves text in the field. */
  onTyping: () => void;
  /** Called when the field is emptied or left. */
  onStopTyping: () => void;
  /** Whom `@` offers: the chat's other members. */
  people?: readonly Participant[];
  /** The message being answered, shown above the field; Escape or × calls onCancelReply. */
  replyTo?: { id: string; name: string; line: string } | null;
  onCancelReply?: () => void;
  /** Where the unsent text is kept (local storage): restored on mounting, cleared on sending. */
  draftOf?: { userId: string; chatId: string };
}

/** Show the count only as the limit comes near. */
const COUNTER_FROM = MESSAGE_MAX_LENGTH - 500;
const MAX_HEIGHT_PX = 180;

const tooLongText = (length: number) =>
  `This message is too long: ${length.toLocaleString()} characters, the limit is ${MESSAGE_MAX_LENGTH.toLocaleString()}.`;

const NOBODY: readonly Participant[] = [];

export function Composer(props: ComposerProps) {
  const { onSend, onTyping, onStopTyping, replyTo, onCancelReply, draftOf } = props;
  const [draft, setDraft] = useState(() =>
    draftOf ? loadDraft(draftOf.userId, draftOf.chatId) : '',
  );
  const mention = useMentionSuggest(props.people ?? NOBODY);
  /** Where the caret goes once a picked mention is in the field. */
  const caretAfter = useRef<number | null>(null);
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

  // Choosing Reply puts the cursor here, to write the answer.
  const replyId = replyTo?.id;
  useEffect(() => {
    if (replyId) ref.current?.focus();
  }, [replyId]);

  // Every change is kept at once: a switch of chats or a reload may come at any moment.
  const draftUser = draftOf?.userId;
  const draftChat = draftOf?.chatId;
  useEffect(() => {
    if (draftUser && draftChat) saveDraft(draftUser, draftChat, draft);
  }, [draftUser, draftChat, draft]);

  // Grow with the text, up to a few lines, then scroll.
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    el.style.height = 'auto';
    el.style.height = `${Math.min(el.scrollHeight, MAX_HEIGHT_PX)}px`;
    if (caretAfter.current !== null) {
      el.setSelectionRange(caretAfter.current, caretAfter.current);
      caretAfter.current = null;
    }
  }, [draft]);

  function pick(username: string) {
    const el = ref.current;
    const query = mention.query;
    if (!el || !query) return;
    const caret = el.selectionStart;
    const inserted = `@${username} `;
    setDraft(draft.slice(0, query.start) + inserted + draft.slice(caret));
    caretAfter.current = query.start + inserted.length;
    mention.close();
    onTyping();
  }

  function submit() {
    if (length === 0) return;
    if (tooLong) {
      setError(tooLongText(length));
      return;
    }
    onSend(draft);
    setDraft('');
    setError(null);
    mention.close();
    ref.current?.focus();
  }

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    submit();
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.nativeEvent.isComposing) return;
    const picked = mention.onKeyDown(event);
    if (picked === 'handled') return;
    if (picked) return pick(picked.username);
    if (event.key === 'Escape' && replyTo && onCancelReply) {
      event.preventDefault();
      onCancelReply();
      return;
    }
    // Enter sends; Shift+Enter breaks the line; Enter that confirms an IME composition does neither.
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      submit();
    }
  }

  return (
    <form className="composer" onSubmit={onSubmit}>
      {replyTo && onCancelReply && (
        <ReplyBar
          name={replyTo.name}
          line={replyTo.line}
          onCancel={() => {
            onCancelReply();
            ref.current?.focus();
          }}
        />
      )}
      {mention.open && (
        <MentionList
          id={mention.listId}
          options={mention.options}
          active={mention.active}
          optionId={mention.optionId}
          onPick={(p) => pick(p.username)}
        />
      )}
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
          dir="auto"
          value={draft}
          placeholder="Write a message…"
          aria-invalid={tooLong}
          aria-describedby={
            [shownError ? ids.error : '', length >= COUNTER_FROM ? ids.counter : '']
              .filter(Boolean)
              .join(' ') || undefined
          }
          {...mention.fieldProps}
          onChange={(e) => {
            setDraft(e.target.value);
            mention.update(e.target.value, e.target.selectionStart);
            setError(null);
            if (e.target.value.trim()) onTyping();
            else onStopTyping();
          }}
          onSelect={(e) => mention.update(e.currentTarget.value, e.currentTarget.selectionStart)}
          onBlur={() => {
            mention.close();
            onStopTyping();
          }}
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
