import type { Chat, Me, Message, User } from '@parley/protocol';
import { useCallback, useEffect, useMemo, useRef, useState, useSyncExternalStore } from 'react';
import { flushSync } from 'react-dom';
import { ChatClient, errorText } from '../client.js';
import { useNow, useOpenChatId } from '../router.js';
import { chatTitle, emptyHistory, findChat, isBlocked, otherParticipant } from '../state.js';
import { Avatar } from './Avatar.js';
import { CallView } from './CallView.js';
import { ChatList } from './ChatList.js';
import { ChatView } from './ChatView.js';
import { AddPeopleDialog, BlockDialog, NewChatDialog, NewGroupDialog } from './dialogs.js';
import { LeaveChatDialog, RenameGroupDialog } from './GroupDialogs.js';
import { GroupMembersDialog } from './GroupMembers.js';
import type { MessageActions } from './messageActions.js';
import { ProfileDialog, type AccountActions } from './ProfileDialog.js';
import { SearchMessages } from './SearchMessages.js';
import { recentPeople } from './UserSearch.js';

interface MessengerProps {
  token: string;
  me: Me;
  account: AccountActions;
  /** Resolves once signed out; signing out everywhere may reject (then the session goes on). */
  onSignOut: (everywhere: boolean) => Promise<void>;
  /** The server ended this token. */
  onSessionEnded: (token: string) => void;
}

type Dialog =
  | 'new-chat'
  | 'new-group'
  | 'add-people'
  | 'block'
  | 'profile'
  | 'members'
  | 'rename-group'
  | 'leave-chat'
  | null;

/** Dialogs about the open chat: they close with it (removed by someone, or left). */
const CHAT_DIALOGS: readonly Dialog[] = [
  'add-people',
  'block',
  'members',
  'rename-group',
  'leave-chat',
];

/** The signed-in app: one ChatClient for the session, the list beside the open chat. */
export function Messenger({ token, me, account, onSignOut, onSessionEnded }: MessengerProps) {
  const [client, setClient] = useState<ChatClient | null>(null);

  // The client lasts as long as the sign-in: a new display name, or the new token a password
  // change brings, is handed to it rather than starting over (which would drop what it holds).
  const latest = useRef({ token, me });
  useEffect(() => {
    latest.current = { token, me };
    client?.updateAccount(token, me);
  }, [client, token, me]);

  useEffect(() => {
    const c = new ChatClient(latest.current.token, latest.current.me, onSessionEnded);
    c.start();
    setClient(c);
    return () => c.stop();
  }, [me.id, onSessionEnded]);

  if (!client) return null;
  return <Shell client={client} account={account} onSignOut={onSignOut} />;
}

const NOTICE_MS = 6_000;

type SignOut = MessengerProps['onSignOut'];

function Shell({
  client,
  account,
  onSignOut,
}: {
  client: ChatClient;
  account: AccountActions;
  onSignOut: SignOut;
}) {
  const state = useSyncExternalStore(client.subscribe, client.getState);
  const [openChatId, navigate] = useOpenChatId();
  const [dialog, setDialog] = useState<Dialog>(null);
  const signOut = useSignOut(client, onSignOut);
  const now = useNow();
  const me = state.me;
  const chat = openChatId ? findChat(state, openChatId) : undefined;

  useEffect(() => client.setOpenChat(chat ? chat.id : null), [client, chat?.id]);

  // A clicked notification opens its chat.
  useEffect(() => client.onOpenChatRequest((chatId) => navigate(chatId)), [client, navigate]);

  // A chat not in the pages loaded is fetched alone; one that is gone (removed, or a stale
  // link) closes once the list is known.
  const missing = openChatId !== null && state.chatsLoaded && !chat;
  useEffect(() => {
    if (!missing || !openChatId) return;
    let current = true;
    void client.findChat(openChatId).then((found) => {
      if (current && !found) navigate(null);
    });
    return () => {
      current = false;
    };
  }, [client, missing, openChatId, navigate]);

  // Otherwise the page would stay inert behind a dialog that no longer shows.
  useEffect(() => {
    if (!chat && CHAT_DIALOGS.includes(dialog)) setDialog(null);
  }, [chat, dialog]);

  const notice = state.notice;
  useEffect(() => {
    if (!notice) return;
    const timer = setTimeout(() => client.dismissNotice(notice.id), NOTICE_MS);
    return () => clearTimeout(timer);
  }, [client, notice]);

  // A muted chat counts only what mentions me.
  const unread = state.chats.reduce(
    (n, c) =>
      n +
      (c.muted
        ? (c.participants.find((p) => p.id === me.id)?.unread_mentions ?? 0)
        : c.unread_count),
    0,
  );
  useEffect(() => {
    document.title = unread > 0 ? `(${unread}) Parley` : 'Parley';
    return () => {
      document.title = 'Parley';
    };
  }, [unread]);

  const search = useCallback((q: string) => client.searchUsers(q), [client]);
  const recent = useMemo(() => recentPeople(state.chats, me.id), [state.chats, me.id]);
  const [searching, setSearching] = useState(false);
  const searchMessages = useCallback(
    (query: { q: string; before?: string }) => client.searchMessages(query),
    [client],
  );
  const openResult = useCallback(
    (message: Message) => {
      navigate(message.chat_id);
      client
        .showMessage(message.chat_id, message.id)
        .catch((err: unknown) => client.notify(`Could not show that message: ${errorText(err)}`));
    },
    [client, navigate],
  );
  // "Not now" hides the offer for this session; the browser asks only when the person chooses.
  const [notifyLater, setNotifyLater] = useState(false);
  const enableNotifications = useCallback(() => {
    client
      .enableNotifications()
      .catch((err: unknown) => client.notify(`Could not turn on notifications: ${errorText(err)}`));
  }, [client]);
  const toggleMute = useCallback(
    (c: Chat) => {
      client
        .setMuted(c.id, !c.muted)
        .catch((err: unknown) =>
          client.notify(`Could not ${c.muted ? 'unmute' : 'mute'} the chat: ${errorText(err)}`),
        );
    },
    [client],
  );
  const loadBlocked = useCallback(() => client.loadBlocked(), [client]);
  // Block from a chat-list row: whom; null for the open chat's person (the header's Block).
  const [blockUser, setBlockUser] = useState<User | null>(null);
  const blockedIds = useMemo(() => new Set(state.blocked?.map((u) => u.id)), [state.blocked]);
  const loadOlderChats = useCallback(() => {
    client.loadOlderChats().catch(() => {});
  }, [client]);
  const loadAllChats = useCallback(() => {
    client.loadAllChats().catch(() => {});
  }, [client]);
  const other = chat?.type === 'direct' ? otherParticipant(chat, me.id) : undefined;
  const unblock = useCallback(
    (userId: string) =>
      client.unblock(userId).catch((err: unknown) => client.notify(errorText(err))),
    [client],
  );
  const opened = useCallback(
    (c: Chat) => {
      setDialog(null);
      navigate(c.id);
    },
    [navigate],
  );

  const chatId = chat?.id;
  // What the open chat's message menus, chips and quotes do.
  const actions = useMemo<MessageActions | undefined>(
    () =>
      chatId === undefined
        ? undefined
        : {
            edit: (messageId, content) => client.edit(chatId, messageId, content),
            remove: (messageId) => client.deleteMessage(chatId, messageId),
            react: (messageId, emoji, op) => client.react(chatId, messageId, emoji, op),
            loadEdits: (messageId) => client.loadEdits(chatId, messageId),
            showMessage: (messageId) => {
              client
                .showMessage(chatId, messageId)
                .catch((err: unknown) =>
                  client.notify(`Could not show that message: ${errorText(err)}`),
                );
            },
            clearFocus: () => client.clearFocus(),
            fetchAttachment: (url) => client.fetchAttachment(url),
          },
    [client, chatId],
  );
  const focus =
    state.focus && state.focus.chatId === chatId
      ? { messageId: state.focus.messageId, nonce: state.focus.nonce }
      : null;

  const title = useMemo(() => (chat ? chatTitle(chat, me.id) : ''), [chat, me.id]);
  const history = (chat && state.histories[chat.id]) || emptyHistory();
  const showReconnecting = state.connection === 'offline';
  const blockTarget = blockUser ?? other;

  return (
    <>
      <main className="app" data-view={chat ? 'chat' : 'list'} inert={dialog !== null}>
        <a className="skip-link" href={chat ? '#chat' : '#chat-list'}>
          {chat ? 'Skip to the chat' : 'Skip to the chat list'}
        </a>
        <h1 className="sr-only">Parley</h1>
        {showReconnecting && (
          <div className="connection-banner" role="status">
            <span className="spinner" aria-hidden="true" /> Reconnecting… Messages will arrive once
            the connection is back.
          </div>
        )}
        <aside className="sidebar" aria-label="Conversations">
          <header className="sidebar-header">
            <Avatar id={me.id} name={me.display_name} />
            <div className="me">
              <span className="me-name">{me.display_name}</span>
              <span className="me-handle">@{me.username}</span>
            </div>
            <button type="button" className="ghost small" onClick={() => setDialog('profile')}>
              Profile
            </button>
            <button
              type="button"
              className="ghost small"
              disabled={signOut.leaving}
              onClick={signOut.leave}
            >
              Sign out
            </button>
          </header>
          <div className="sidebar-actions">
            <button type="button" className="primary" onClick={() => setDialog('new-chat')}>
              New chat
            </button>
            <button type="button" className="secondary" onClick={() => setDialog('new-group')}>
              New group
            </button>
          </div>
          {state.notifications === 'default' && !notifyLater && (
            <div className="notify-prompt" role="region" aria-label="Notifications">
              <p>Be notified of direct messages and mentions in chats you are not looking at.</p>
              <button type="button" className="ghost small" onClick={() => setNotifyLater(true)}>
                Not now
              </button>
              <button type="button" className="primary small" onClick={enableNotifications}>
                Turn on notifications
              </button>
            </div>
          )}
          <SearchMessages
            search={searchMessages}
            chats={state.chats}
            meId={me.id}
            now={now}
            onOpen={openResult}
            onActiveChange={setSearching}
          />
          <nav
            className="chat-list-wrap"
            id="chat-list"
            tabIndex={-1}
            aria-label="Chat list"
            hidden={searching}
          >
            <ChatList
              chats={state.chats}
              meId={me.id}
              openChatId={chat?.id ?? null}
              loaded={state.chatsLoaded}
              now={now}
              onOpen={navigate}
              onToggleMute={toggleMute}
              older={state.olderChats}
              onLoadOlder={loadOlderChats}
              onLoadAll={loadAllChats}
              onBlock={(user) => {
                setBlockUser(user);
                setDialog('block');
              }}
              onUnblock={(user) => void unblock(user.id)}
              blockedIds={blockedIds}
            />
          </nav>
        </aside>
        <section className="main" id="chat" tabIndex={-1} aria-label={chat ? 'Chat' : 'Welcome'}>
          {chat ? (
            <ChatView
              key={chat.id}
              chat={chat}
              meId={me.id}
              messages={history.messages}
              outgoing={state.outgoing[chat.id] ?? []}
              typists={state.typing[chat.id] ?? []}
              blocked={other ? isBlocked(state, other.id) : false}
              hasMore={history.hasMore}
              loading={history.loading || !history.loaded}
              error={history.error}
              now={now}
              onBack={() => navigate(null)}
              onAddPeople={() => setDialog('add-people')}
              onBlock={() => {
                setBlockUser(null);
                setDialog('block');
              }}
              onUnblock={() => other && void unblock(other.id)}
              onLoadOlder={() => void client.loadOlder(chat.id)}
              onSend={(content, options) => client.send(chat.id, content, options)}
              uploads={client.uploads}
              onRetry={(id) => client.retry(chat.id, id)}
              onTyping={() => client.typing(chat.id)}
              onStopTyping={() => client.stopTyping(chat.id)}
              actions={actions}
              focus={focus}
              onToggleMute={() => toggleMute(chat)}
              onMembers={() => setDialog('members')}
              onRename={() => setDialog('rename-group')}
              onLeave={() => setDialog('leave-chat')}
              onCall={
                other &&
                ((media) =>
                  void client.calls.start(
                    chat.id,
                    { id: other.id, name: other.display_name },
                    media,
                  ))
              }
            />
          ) : (
            <div className="empty-state">
              <div className="empty-mark" aria-hidden="true" />
              <h2>Welcome, {me.display_name}</h2>
              <p>Pick a conversation, or start a new one.</p>
            </div>
          )}
        </section>
      </main>

      <CallView calls={client.calls} />

      {notice && (
        <div className="toast" role="alert">
          <span>{notice.text}</span>
          <button
            type="button"
            className="ghost small"
            onClick={() => client.dismissNotice(notice.id)}
          >
            Dismiss
          </button>
        </div>
      )}

      {dialog === 'new-chat' && (
        <NewChatDialog
          search={search}
          recent={recent}
          openDirect={(userId) => client.openDirect(userId)}
          onDone={opened}
          onClose={() => setDialog(null)}
        />
      )}
      {dialog === 'new-group' && (
        <NewGroupDialog
          search={search}
          recent={recent}
          createGroup={(name, ids) => client.createGroup(name, ids)}
          onDone={opened}
          onClose={() => setDialog(null)}
        />
      )}
      {dialog === 'block' && blockTarget && (
        <BlockDialog
          user={blockTarget}
          block={(user) => client.block(user)}
          onDone={() => setDialog(null)}
          onClose={() => setDialog(null)}
        />
      )}
      {dialog === 'profile' && (
        <ProfileDialog
          me={me}
          account={account}
          blocked={state.blocked}
          loadBlocked={loadBlocked}
          unblock={(userId) => client.unblock(userId)}
          signOutEverywhere={() => onSignOut(true)}
          onClose={() => setDialog(null)}
        />
      )}
      {dialog === 'add-people' && chat && (
        <AddPeopleDialog
          chat={chat}
          title={title}
          search={search}
          recent={recent}
          addParticipant={(chatId, userId) => client.addParticipant(chatId, userId)}
          onDone={(_chat, user) => {
            setDialog(null);
            client.notify(`${user.display_name} was added to ${title}.`);
          }}
          onClose={() => setDialog(null)}
        />
      )}
      {dialog === 'members' && chat && (
        <GroupMembersDialog
          chat={chat}
          meId={me.id}
          title={title}
          now={now}
          setRole={(userId, role) => client.setRole(chat.id, userId, role)}
          remove={(userId) => client.removeParticipant(chat.id, userId)}
          onClose={() => setDialog(null)}
        />
      )}
      {dialog === 'rename-group' && chat && (
        <RenameGroupDialog
          chat={chat}
          rename={(name) => client.renameGroup(chat.id, name)}
          onDone={() => setDialog(null)}
          onClose={() => setDialog(null)}
        />
      )}
      {dialog === 'leave-chat' && chat && (
        <LeaveChatDialog
          chat={chat}
          meId={me.id}
          title={title}
          leave={() => client.leaveChat(chat.id)}
          onDone={() => {
            // Synchronously, so that the list is shown and no longer inert when it takes focus.
            flushSync(() => {
              setDialog(null);
              navigate(null);
            });
            document.getElementById('chat-list')?.focus();
            client.notify(`You left “${title}”.`);
          }}
          onClose={() => setDialog(null)}
        />
      )}
    </>
  );
}

/**
 * "Sign out" of this session, once at a time, a failure said in words. ("Sign out everywhere"
 * lives in the Profile dialog, which says its own failures.)
 */
function useSignOut(client: ChatClient, onSignOut: SignOut) {
  const [leaving, setLeaving] = useState(false);
  const leave = () => {
    if (leaving) return;
    setLeaving(true);
    onSignOut(false).catch((err: unknown) => {
      setLeaving(false);
      client.notify(`Could not sign out: ${errorText(err)}`);
    });
  };
  return { leaving, leave };
}
