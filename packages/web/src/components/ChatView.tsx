import type { Chat, Message } from '@parley/protocol';
import { presenceText } from '../format.js';
import { chatTitle, otherParticipant, typingText, type Outgoing, type Typist } from '../state.js';
import { Avatar } from './Avatar.js';
import { Composer } from './Composer.js';
import { MessageList } from './MessageList.js';

interface ChatViewProps {
  chat: Chat;
  meId: string;
  messages: readonly Message[];
  outgoing: readonly Outgoing[];
  typists: readonly Typist[];
  hasMore: boolean;
  loading: boolean;
  error: string | null;
  now: Date;
  onBack: () => void;
  onAddPeople: () => void;
  onLoadOlder: () => void;
  onSend: (content: string) => void;
  onRetry: (clientMessageId: string) => void;
  onTyping: () => void;
  onStopTyping: () => void;
}

function memberLine(chat: Chat, meId: string): string {
  const names = chat.participants
    .filter((p) => p.id !== meId)
    .map((p) => p.display_name)
    .sort((a, b) => a.localeCompare(b));
  return `${chat.participants.length} members: You, ${names.join(', ')}`;
}

/** One open chat: who it is with, its messages, who is typing, and the composer. */
export function ChatView(props: ChatViewProps) {
  const { chat, meId, now } = props;
  const title = chatTitle(chat, meId);
  const other = chat.type === 'direct' ? otherParticipant(chat, meId) : undefined;

  return (
    <section className="chat-view" aria-labelledby="chat-title">
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
            <p className={`chat-header-sub${other.status === 'online' ? ' online' : ''}`}>
              {presenceText(other, now)}
            </p>
          ) : (
            <p className="chat-header-sub">{memberLine(chat, meId)}</p>
          )}
        </div>
        {chat.type === 'group' && (
          <button type="button" className="secondary small" onClick={props.onAddPeople}>
            Add people
          </button>
        )}
      </header>
      <MessageList
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
      />
      <div className="typing" aria-live="polite">
        {typingText(props.typists)}
      </div>
      <Composer
        key={chat.id}
        onSend={props.onSend}
        onTyping={props.onTyping}
        onStopTyping={props.onStopTyping}
      />
    </section>
  );
}
