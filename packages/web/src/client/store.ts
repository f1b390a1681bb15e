// The state one session builds, and who is told when it changes. React reads it through
// useSyncExternalStore; every module of the client writes it through `update`.
import type { Me } from '@parley/protocol';
import {
  emptyHistory,
  initialState,
  type History,
  type NotificationsPermission,
  type State,
} from '../state.js';

export class Store {
  private state: State;
  private readonly listeners = new Set<() => void>();
  private noticeSeq = 0;
  /** Set once the session ends: late answers must not resurrect a signed-out screen. */
  private stopped = false;

  constructor(me: Me, notifications?: NotificationsPermission) {
    this.state = initialState(me, notifications);
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getState = (): State => this.state;

  get isStopped(): boolean {
    return this.stopped;
  }

  stop(): void {
    this.stopped = true;
  }

  update(change: (state: State) => State): void {
    const next = change(this.state);
    if (next === this.state || this.stopped) return;
    this.state = next;
    for (const listener of this.listeners) listener();
  }

  setHistory(chatId: string, change: (h: History) => History): void {
    this.update((s) => ({
      ...s,
      histories: { ...s.histories, [chatId]: change(s.histories[chatId] ?? emptyHistory()) },
    }));
  }

  /** A line of text for the person, shown until dismissed or replaced. */
  notify(text: string): void {
    this.update((s) => ({ ...s, notice: { id: ++this.noticeSeq, text } }));
  }

  dismissNotice(id: number): void {
    this.update((s) => (s.notice?.id === id ? { ...s, notice: null } : s));
  }
}
