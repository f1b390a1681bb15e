// What a message's menu, chips and quote ask of the client. ChatView gets them from Messenger
// (bound to the open chat), so the components need no ChatClient and tests pass plain functions.

export interface EditEntry {
  content: string;
  edited_at: string;
}

export interface MessageActions {
  /** Each rejects with an Error whose message says what went wrong, in words. */
  edit: (messageId: string, content: string) => Promise<void>;
  remove: (messageId: string) => Promise<void>;
  react: (messageId: string, emoji: string, op: 'add' | 'remove') => Promise<void>;
  /** The earlier versions of an edited message, oldest first. */
  loadEdits: (messageId: string) => Promise<EditEntry[]>;
  /** Loads history until the message is held; the list then scrolls to it (`focus`). */
  showMessage: (messageId: string) => void;
  /** The list scrolled to the focused message: forget it, so it is not done again. */
  clearFocus: () => void;
  /** An attachment's bytes with the session's header: for a signed URL that ran out. */
  fetchAttachment: (url: string) => Promise<Blob>;
}

/** A failure's words for the person who tried: the client's errors carry them. */
export const reasonOf = (err: unknown): string =>
  err instanceof Error && err.message ? err.message : 'Something went wrong. Try again.';
