// Browser notifications for what needs me while I look elsewhere: a direct message, or a
// mention, arriving while the tab is hidden or another chat is open, in a chat not muted.
import type { Message } from '@parley/protocol';
import { findChat, type NotificationsPermission, type State } from './state.js';

export const NOTIFICATION_BODY_LENGTH = 100;

export interface NotificationContent {
  chatId: string;
  title: string;
  body: string;
  /** One notification per message, however many tabs show it. */
  tag: string;
}

/** What the page looks like when a message arrives. */
export interface Attention {
  openChatId: string | null;
  hidden: boolean;
}

/**
 * The notification a new message deserves, or null. Pure: the rules in one place, tested
 * without a browser.
 */
export function notificationFor(
  state: State,
  message: Message,
  attention: Attention,
): NotificationContent | null {
  if (state.notifications !== 'granted') return null;
  const me = state.me.id;
  const chat = findChat(state, message.chat_id);
  if (!chat || chat.muted || message.sender_id === me) return null;
  if (message.message_type === 'system' || message.deleted_at !== null) return null;
  if (chat.type !== 'direct' && !message.mentions.includes(me)) return null;
  if (!attention.hidden && attention.openChatId === chat.id) return null;
  const sender = message.sender.display_name;
  return {
    chatId: chat.id,
    title: chat.type === 'group' && chat.name ? `${sender} in ${chat.name}` : sender,
    body: [...message.content].slice(0, NOTIFICATION_BODY_LENGTH).join(''),
    tag: message.id,
  };
}

/** The permission as the browser holds it now. */
export function notificationPermission(): NotificationsPermission {
  return typeof window !== 'undefined' && 'Notification' in window
    ? window.Notification.permission
    : 'unsupported';
}

/** Shows notifications and tells listeners which chat a click asks to open. */
export class Notifier {
  private readonly listeners = new Set<(chatId: string) => void>();

  /** Asks the browser for permission (only it can show the prompt); returns the answer. */
  async request(): Promise<NotificationsPermission> {
    if (notificationPermission() === 'unsupported') return 'unsupported';
    try {
      return await window.Notification.requestPermission();
    } catch {
      // Older browsers answer through a callback only, and throw on the promise form.
      return notificationPermission();
    }
  }

  onOpenChatRequest(listener: (chatId: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A new message arrived live: notify if it deserves it. */
  arrived(state: State, message: Message, attention: Attention): void {
    const content = notificationFor(state, message, attention);
    if (!content || notificationPermission() !== 'granted') return;
    let notification: Notification;
    try {
      notification = new window.Notification(content.title, {
        body: content.body,
        tag: content.tag,
      });
    } catch (err) {
      // Some mobile browsers allow notifications only from a service worker.
      console.warn('Could not show a notification', err);
      return;
    }
    notification.onclick = () => {
      window.focus();
      notification.close();
      for (const listener of this.listeners) listener(content.chatId);
    };
  }
}
