import { MESSAGE_MAX_LENGTH, codePointLength, type Participant } from '@parley/protocol';
import {
  useEffect,
  useId,
  useLayoutEffect,
  useRef,
  useState,
  useSyncExternalStore,
  type ClipboardEvent,
  type FormEvent,
  type KeyboardEvent,
} from 'react';
import { limitText, type PendingUpload, type UploadsState } from '../client/uploads.js';
import { loadDraft, saveDraft } from '../drafts.js';
import { AttachmentTray } from './AttachmentTray.js';
import { MentionList, useMentionSuggest } from './MentionSuggest.js';
import { ReplyBar } from './ReplyBar.js';

/** What the composer needs of the client's uploads (client/uploads.ts). */
export interface ComposerUploads {
  subscribe: (listener: () => void) => () => void;
  getSnapshot: () => UploadsState;
  add(chatId: string, files: readonly File[]): void;
  remove(chatId: string, key: string): void;
}

interface ComposerProps {
  /** A promise (a send with attachments): the text stays until it resolves; a rejection is shown. */
  onSend: (content: string) => void | Promise<void>;
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
  /** Files for this chat's next message: Attach file and paste add to them (a drop: ChatView). */
  uploads?: { port: ComposerUploads; chatId: string };
}

const NO_UPLOADS: readonly PendingUpload[] = [];
const noSubscription = () => () => {};
const noSnapshot = (): UploadsState | null => null;

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
  const ids = { field: useId(), error: useId(), counter: useId(), limit: useId() };
  const port = props.uploads?.port;
  const uploadsChat = props.uploads?.chatId;
  const snapshot = useSyncExternalStore(
    port?.subscribe ?? noSubscription,
    port?.getSnapshot ?? noSnapshot,
  );
  const pending = (uploadsChat && snapshot?.byChat[uploadsChat]) || NO_UPLOADS;
  const limit = snapshot?.limit ?? null;
  const fileInput = useRef<HTMLInputElement>(null);
  const [sending, setSending] = useState(false);
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

  function addFiles(files: readonly File[]) {
    if (!port || !uploadsChat || files.length === 0) return;
    port.add(uploadsChat, files);
    setError(null);
  }

  function submit() {
    if (sending || (length === 0 && pending.length === 0)) return;
    if (tooLong) {
      setError(tooLongText(length));
      return;
    }
    const sent = draft;
    const done = () => {
      // What was typed while a send with files waited for its ack is a new draft: it stays.
      setDraft((current) =>
        current.startsWith(sent) ? current.slice(sent.length).trimStart() : current,
      );
      setError(null);
      mention.close();
      ref.current?.focus();
    };
    const result = onSend(sent);
    if (!result) return done();
    // With attachments the send is acknowledged first: on a refusal the text and files stay.
    setSending(true);
    result
      .then(done, (err: unknown) => setError(err instanceof Error ? err.message : String(err)))
      .finally(() => setSending(false));
  }

  function onPaste(event: ClipboardEvent<HTMLTextAreaElement>) {
    // A pasted image (a screenshot) becomes an attachment; pasted text stays text.
    const files = [...event.clipboardData.files];
    if (!port || files.length === 0) return;
    event.preventDefault();
    addFiles(files);
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
      {port && (
        <AttachmentTray
          uploads={pending}
          limitText={limit === null ? null : limitText(limit)}
          limitId={ids.limit}
          onRemove={(key) => uploadsChat && port.remove(uploadsChat, key)}
        />
      )}
      <div className="composer-row">
        {port && (
          <>
            <button
              type="button"
              className="icon-button attach-button"
              aria-describedby={limit === null ? undefined : ids.limit}
              onClick={() => fileInput.current?.click()}
            >
              <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true">
                <path
                  d="M16.5 6.5l-8 8a2.5 2.5 0 0 0 3.5 3.5l8.5-8.5a4.5 4.5 0 0 0-6.4-6.4L5.6 11.6a6.5 6.5 0 0 0 9.2 9.2l6.2-6.2"
                  fill="none"
                  stroke="currentColor"
                  strokeWidth="1.8"
                  strokeLinecap="round"
                />
              </svg>
              <span className="sr-only">Attach file</span>
            </button>
            <input
              ref={fileInput}
              type="file"
              multiple
              hidden
              tabIndex={-1}
              onChange={(e) => {
                addFiles([...(e.target.files ?? [])]);
                // The same file chosen again must fire change again.
                e.target.value = '';
              }}
            />
          </>
        )}
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
          onPaste={onPaste}
        />
        <button type="submit" className="send-button" aria-disabled={sending || undefined}>
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
