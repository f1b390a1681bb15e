// Unsent text, one draft per chat, kept in this browser's local storage under the signed-in
// user's id: switching chats or reloading brings it back; sending clears it. Bounded, so a
// long life of chats cannot fill the storage: the least recently touched drafts go first.

export const MAX_DRAFTS = 50;
/** More than any message may hold (the composer says so); a pasted book is cut here. */
export const MAX_DRAFT_CHARS = 20_000;

type Stored = Record<string, { text: string; at: number }>;

/** What is read back is checked entry by entry: a bad one is dropped, the rest kept. */
function parse(raw: string): Stored {
  const value: unknown = JSON.parse(raw);
  const drafts: Stored = {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return drafts;
  for (const [chatId, entry] of Object.entries(value as Record<string, unknown>)) {
    const { text, at } = (entry ?? {}) as { text?: unknown; at?: unknown };
    if (typeof text === 'string' && typeof at === 'number') drafts[chatId] = { text, at };
  }
  return drafts;
}

const keyOf = (userId: string) => `parley.drafts.${userId}`;

function read(userId: string): Stored {
  try {
    const raw = localStorage.getItem(keyOf(userId));
    if (!raw) return {};
    return parse(raw);
  } catch {
    // Storage disabled, or something not ours under the key: no drafts rather than a crash.
    return {};
  }
}

function write(userId: string, drafts: Stored): void {
  try {
    if (Object.keys(drafts).length === 0) localStorage.removeItem(keyOf(userId));
    else localStorage.setItem(keyOf(userId), JSON.stringify(drafts));
  } catch {
    // Full or disabled: the draft lives as long as the composer does, as before.
  }
}

export function loadDraft(userId: string, chatId: string): string {
  return read(userId)[chatId]?.text ?? '';
}

/** Keeps `text` as the chat's draft; blank text removes it. */
export function saveDraft(userId: string, chatId: string, text: string): void {
  const drafts = read(userId);
  if (!text.trim()) {
    if (!(chatId in drafts)) return;
    delete drafts[chatId];
    return write(userId, drafts);
  }
  drafts[chatId] = { text: text.slice(0, MAX_DRAFT_CHARS), at: Date.now() };
  const kept = Object.entries(drafts)
    .sort(([, a], [, b]) => b.at - a.at)
    .slice(0, MAX_DRAFTS);
  write(userId, Object.fromEntries(kept));
}

export const clearDraft = (userId: string, chatId: string): void => saveDraft(userId, chatId, '');

/** Every draft of the user, gone: for signing out on a shared computer. */
export function forgetDrafts(userId: string): void {
  try {
    localStorage.removeItem(keyOf(userId));
  } catch {
    // Storage disabled: nothing was kept.
  }
}
