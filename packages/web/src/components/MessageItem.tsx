import type { Message, ReplyPreview } from '@parley/protocol';
import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import { formatClock, formatFull } from '../format.js';
import type { Outgoing } from '../state.js';
import { AttachmentList } from './AttachmentList.js';
import { DeleteConfirm } from './DeleteConfirm.js';
import { EditBox } from './EditBox.js';
import { EditHistory } from './EditHistory.js';
import { EmojiPicker } from './EmojiPicker.js';
import { reasonOf, type MessageActions } from './messageActions.js';
import { MessageMenu, type MenuItem } from './MessageMenu.js';
import { MessageText } from './MessageText.js';
import { Reactions } from './Reactions.js';
import { ReplyQuote } from './ReplyQuote.js';

/** One line of the list: a stored message, or one of mine on its way (or refused). */
export interface Row {
  key: string;
  message: Message | null;
  pending: Outgoing | null;
  senderId: string;
  senderName: string;
  /** The sender's username: in a group, shown beside a name that could imitate someone's. */
  senderHandle: string;
  content: string;
  createdAt: string;
  system: boolean;
  seq: number | null;
  /** The answered message, for a reply (also one still on its way). */
  reply: ReplyPreview | null;
}

export interface ItemContext {
  meId: string;
  /** My username, to highlight where a message mentions me. */
  meUsername: string;
  group: boolean;
  /** An owner or admin of a group may delete anyone's message. */
  moderator: boolean;
  nameOf: (userId: string) => string;
  actions: MessageActions | undefined;
  onReply: ((message: Message) => void) | undefined;
  onRetry: (clientMessageId: string) => void;
}

interface MessageItemProps {
  row: Row;
  ctx: ItemContext;
  className: string;
  showSender: boolean;
  receipt: string | undefined;
  /** Separators above the message (day, unread), inside its list item. */
  before: ReactNode;
}

type Open = 'edit' | 'delete' | 'react' | null;

/** The menu's items for a message, by who I am to it. */
function menuItems(
  message: Message,
  ctx: ItemContext,
  open: (what: Open) => void,
  reply: () => void,
) {
  const mine = message.sender_id === ctx.meId;
  const items: MenuItem[] = [];
  if (ctx.onReply) items.push({ label: 'Reply', onSelect: reply });
  if (ctx.actions) {
    items.push({ label: 'React', onSelect: () => open('react') });
    // A file's or an image's words are its caption: editable too (to nothing, even). A system
    // line is the server's.
    if (mine && message.message_type !== 'system') {
      items.push({ label: 'Edit', onSelect: () => open('edit') });
    }
    if (mine || ctx.moderator)
      items.push({ label: 'Delete', onSelect: () => open('delete'), danger: true });
  }
  return items;
}

export function MessageItem({
  row,
  ctx,
  className,
  showSender,
  receipt,
  before,
}: MessageItemProps) {
  const [open, setOpen] = useState<Open>(null);
  const [error, setError] = useState<string | null>(null);
  const buttonRef = useRef<HTMLButtonElement>(null);
  const itemRef = useRef<HTMLLIElement>(null);
  /** Set while my confirmed delete goes through: the menu goes with the content, focus stays here. */
  const deleting = useRef(false);
  const { message } = row;
  const mine = row.senderId === ctx.meId;
  const deleted = message?.deleted_at != null;
  const actions = ctx.actions;

  const returnFocus = useRef(false);

  /** Closes what is open; focus goes back to the menu button, once it is shown again. */
  const close = useCallback((refocus = true) => {
    returnFocus.current = refocus;
    setOpen(null);
  }, []);

  useEffect(() => {
    if (open !== null || !returnFocus.current) return;
    returnFocus.current = false;
    (deleting.current ? itemRef.current : (buttonRef.current ?? itemRef.current))?.focus();
  }, [open]);

  // Deleted (by me, or by a moderator) while its edit box, picker or dialog was open: close it.
  useEffect(() => {
    if (!deleted) return;
    if (open !== null) close();
    else if (deleting.current) itemRef.current?.focus();
    // Only the change to deleted matters here, not every open or close.
  }, [deleted]);

  const run = (what: string, work: Promise<void>) => {
    setError(null);
    work.catch((err: unknown) => setError(`${what} ${reasonOf(err)}`));
  };

  const react = (emoji: string, mine: boolean) => {
    if (!actions || !message) return;
    run(
      mine ? 'Could not remove the reaction.' : 'Could not add the reaction.',
      actions.react(message.id, emoji, mine ? 'remove' : 'add'),
    );
  };

  const time = (
    <time dateTime={row.createdAt} title={formatFull(row.createdAt)}>
      {formatClock(row.createdAt)}
    </time>
  );

  const items =
    message && !deleted && !row.system
      ? menuItems(message, ctx, setOpen, () => ctx.onReply?.(message))
      : [];

  if (row.system) {
    return (
      <li className={className} data-message-id={message?.id} data-seq={row.seq ?? undefined}>
        {before}
        <p className="system-text">{row.content}</p>
      </li>
    );
  }

  return (
    <li
      ref={itemRef}
      className={className}
      data-message-id={message?.id}
      data-seq={row.seq ?? undefined}
      tabIndex={-1}
    >
      {before}
      {showSender && (
        <div className={`sender${mine ? ' sr-only' : ''}`}>
          <span className="sender-name">{mine ? 'You' : row.senderName}</span>
          {!mine && ctx.group && <span className="sender-handle"> @{row.senderHandle}</span>}
        </div>
      )}
      {row.reply && !deleted && (
        <ReplyQuote
          preview={row.reply}
          senderName={ctx.nameOf(row.reply.sender_id)}
          onShow={() => row.reply && actions?.showMessage(row.reply.id)}
        />
      )}
      <div className="message-line">
        {open === 'edit' && message && actions ? (
          <EditBox
            initial={message.content}
            mayBeEmpty={message.attachments.length > 0}
            onSave={(content) => actions.edit(message.id, content)}
            onDone={() => close()}
          />
        ) : (
          <div className={`bubble${deleted ? ' deleted' : ''}`}>
            {!deleted && message && (
              <AttachmentList
                attachments={message.attachments}
                fetchAttachment={actions?.fetchAttachment}
              />
            )}
            {deleted ? (
              <p className="text tombstone">Message deleted</p>
            ) : (
              // A message of attachments alone has no text to show.
              (row.content !== '' || !message?.attachments.length) && (
                <MessageText
                  content={row.content}
                  mentionOf={message?.mentions.includes(ctx.meId) ? ctx.meUsername : null}
                />
              )
            )}
            {message?.edited_at && !deleted ? (
              <EditHistory
                editedAt={message.edited_at}
                load={actions ? () => actions.loadEdits(message.id) : null}
              >
                {time}
              </EditHistory>
            ) : (
              <span className="meta">{time}</span>
            )}
          </div>
        )}
        {items.length > 0 && open !== 'edit' && <MessageMenu items={items} buttonRef={buttonRef} />}
      </div>
      {message && !deleted && (
        <Reactions
          reactions={message.reactions}
          meId={ctx.meId}
          nameOf={ctx.nameOf}
          onToggle={react}
          onAdd={actions ? () => setOpen('react') : undefined}
        />
      )}
      {open === 'react' && message && (
        <EmojiPicker
          onPick={(emoji) => {
            const already = message.reactions.some(
              (r) => r.emoji === emoji && r.user_ids.includes(ctx.meId),
            );
            close();
            if (!already) react(emoji, false);
          }}
          onClose={close}
        />
      )}
      {open === 'delete' && message && actions && (
        <DeleteConfirm
          senderName={mine ? null : row.senderName}
          onDelete={async () => {
            deleting.current = true;
            try {
              await actions.remove(message.id);
            } catch (err) {
              deleting.current = false;
              throw err;
            }
          }}
          onClose={() => close()}
        />
      )}
      {error && (
        <p className="receipt failed" role="alert">
          {error}
        </p>
      )}
      {row.pending?.status === 'sending' && <div className="receipt">Sending…</div>}
      {row.pending?.status === 'failed' && (
        <div className="receipt failed">
          <span>Not sent. {row.pending.error}</span>{' '}
          <button type="button" className="link-button" onClick={() => ctx.onRetry(row.key)}>
            Retry
          </button>
        </div>
      )}
      {receipt && <div className="receipt">{receipt}</div>}
    </li>
  );
}
