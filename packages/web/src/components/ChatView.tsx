import type { CallMedia, Chat, Message } from '@parley/protocol';
import { useState } from 'react';
import { presenceText } from '../format.js';
import {
  chatTitle,
  nameWithHandle,
  otherParticipant,
  typingText,
  type Outgoing,
  type Typist,
} from '../state.js';
import { Avatar } from './Avatar.js';
import { Composer, type ComposerUploads } from './Composer.js';
import { canManage } from './groupRules.js';
import type { MessageActions } from './messageActions.js';
import { MessageList } from './MessageList.js';
import { previewLine } from './ReplyQuote.js';
import { useFileDrop } from './useFileDrop.js';

interface ChatViewProps {
  chat: Chat;
  meId: string;
  messages: readonly Message[];
  outgoing: readonly Outgoing[];
  typists: readonly Typist[];
  /** In a direct chat: whether I blocked the other person. */
  blocked: boolean;
  hasMore: boolean;
  loading: boolean;
  error: string | null;
  now: Date;
  onBack: () => void;
  onAddPeople: () => void;
  /** Asks to block the other person of a direct chat (the caller confirms first). */
  onBlock: () => void;
  onUnblock: () => void;
  onLoadOlder: () => void;
  onSend: (content: string, options?: { replyToId?: string }) => void;
  /** Files for the next message; with some chosen, a send carries them (and is awaited). */
  uploads?: ComposerUploads & {
    send(chatId: string, content: string, options?: { replyToId?: string }): Promise<void>;
  };
  onRetry: (clientMessageId: string) => void;
  onTyping: () => void;
  onStopTyping: () => void;
  /** What the message menus, chips and quotes do, bound to this chat; absent: read only. */
  actions?: MessageActions;
  /** state.focus when it is in this chat: the message to scroll to and highlight. */
  focus?: { messageId: string; nonce: number } | null;
  /** Mutes or unmutes this chat's notifications for me; the label follows chat.muted. */
  onToggleMute?: () => void;
  /** A group's members dialog, its rename dialog and its leave confirmation. */
  onMembers?: () => void;
  onRename?: () => void;
  onLeave?: () => void;
  /** Rings the other person of a direct chat; absent: no call buttons. */
  onCall?: (media: CallMedia) => void;
}

function memberLine(chat: Chat, meId: string): string {
  const names = chat.participants
    .filter((p) => p.id !== meId)
    .sort((a, b) => a.display_name.localeCompare(b.display_name))
    .map(nameWithHandle);
  return `${chat.participants.length} members: You, ${names.join(', ')}`;
}

/** One open chat: who it is with, its messages, who is typing, and the composer. */
export function ChatView(props: ChatViewProps) {
  const { chat, meId, now } = props;
  const title = chatTitle(chat, meId, props.messages);
  const other = chat.type === 'direct' ? otherParticipant(chat, meId) : undefined;
  const [replyingTo, setReplyTo] = useState<Message | null>(null);
  // The held copy, kept current: an edit or delete of it shows in the reply bar too.
  const replyTo = replyingTo && (props.messages.find((m) => m.id === replyingTo.id) ?? replyingTo);
  const people = chat.participants.filter((p) => p.id !== meId);
  const group = chat.type === 'group';
  // Adding people and renaming are an owner's or admin's: nobody else is shown them.
  const manager = canManage(chat, meId);
  const replyName = replyTo
    ? (chat.participants.find((p) => p.id === replyTo.sender_id)?.display_name ??
      replyTo.sender.display_name)
    : '';

  // The whole pane takes dropped files, for the next message: aiming at the composer is not needed.
  const uploads = props.uploads;
  const drop = useFileDrop(uploads && ((files) => uploads.add(chat.id, files)));

  function send(content: string): void | Promise<void> {
    const options = replyTo ? { replyToId: replyTo.id } : undefined;
    if (props.uploads?.getSnapshot().byChat[chat.id]?.length) {
      return props.uploads.send(chat.id, content, options).then(() => setReplyTo(null));
    }
    props.onSend(content, options);
    setReplyTo(null);
  }

  return (
    <section className="chat-view" aria-labelledby="chat-title" {...drop.handlers}>
      {drop.dragging && (
        <div className="drop-overlay">
          <p>Drop files to attach</p>
        </div>
      )}
      <header className="chat-header">
        <button type="button" className="icon-button back-button" onClick={props.onBack}>
          <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true">
            <path d="M15 5l-7 7 7 7" fill="none" stroke="currentColor" strokeWidth="2" />
          </svg>
          <span className="sr-only">Back to chats</span>
        </button>
        <Avatar id={other?.id ?? chat.id} name={title} status={other?.status} />
        <div className="chat-header-text">
          <h2 id="chat-title">{title}</h2>
          {other ? (
            <p className="chat-header-sub">
              <span className="handle">@{other.username}</span>
              {other.status !== null && (
                <span className={`presence${other.status === 'online' ? ' online' : ''}`}>
                  {presenceText(other, now)}
                </span>
              )}
            </p>
          ) : group ? (
            <p className="chat-header-sub">{memberLine(chat, meId)}</p>
          ) : (
            <p className="chat-header-sub">They left this chat</p>
          )}
        </div>
        <div className="chat-header-actions">
          {props.onToggleMute && (
            <button
              type="button"
              className="ghost small"
              aria-pressed={chat.muted}
              onClick={props.onToggleMute}
            >
              Mute
            </button>
          )}
          {other && props.onCall && (
            <>
              <button type="button" className="ghost small" onClick={() => props.onCall?.('audio')}>
                Audio call
              </button>
              <button type="button" className="ghost small" onClick={() => props.onCall?.('video')}>
                Video call
              </button>
            </>
          )}
          {group && props.onMembers && (
            <button type="button" className="secondary small" onClick={props.onMembers}>
              Members
            </button>
          )}
          {group && manager && (
            <button type="button" className="secondary small" onClick={props.onAddPeople}>
              Add people
            </button>
          )}
          {group && manager && props.onRename && (
            <button type="button" className="ghost small" onClick={props.onRename}>
              Rename group
            </button>
          )}
          {props.onLeave && (
            <button type="button" className="ghost small leave-button" onClick={props.onLeave}>
              {group ? 'Leave group' : 'Leave chat'}
            </button>
          )}
          {other &&
            (props.blocked ? (
              <button type="button" className="secondary small" onClick={props.onUnblock}>
                Unblock
              </button>
            ) : (
              <button type="button" className="ghost small" onClick={props.onBlock}>
                Block
              </button>
            ))}
        </div>
      </header>
      {other && props.blocked && (
        <p className="blocked-note" role="status">
          You blocked {nameWithHandle(other)}. They cannot write to you here, start a chat with you
          or add you to a group, and you no longer see them typing or reading. Your messages still
          reach them.
        </p>
      )}
      <MessageList
        key={`messages-${chat.id}`}
        chat={chat}
        meId={meId}
        messages={props.messages}
        outgoing={props.outgoing}
        hasMore={props.hasMore}
        loading={props.loading}
        error={props.error}
        now={now}
        onLoadOlder={props.onLoadOlder}
        onRetry={props.onRetry}
        actions={props.actions}
        onReply={setReplyTo}
        focus={props.focus}
      />
      <div className="typing" aria-live="polite">
        {typingText(props.typists)}
      </div>
      <Composer
        key={chat.id}
        onSend={send}
        onTyping={props.onTyping}
        onStopTyping={props.onStopTyping}
        people={people}
        replyTo={
          replyTo && {
            id: replyTo.id,
            name: replyName,
            line: previewLine({ content: replyTo.content, deleted: replyTo.deleted_at !== null }),
          }
        }
        onCancelReply={() => setReplyTo(null)}
        draftOf={{ userId: meId, chatId: chat.id }}
        uploads={props.uploads && { port: props.uploads, chatId: chat.id }}
      />
    </section>
  );
}
