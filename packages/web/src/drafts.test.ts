import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  MAX_DRAFT_CHARS,
  MAX_DRAFTS,
  clearDraft,
  forgetDrafts,
  loadDraft,
  saveDraft,
} from './drafts.js';

afterEach(() => {
  localStorage.clear();
  vi.restoreAllMocks();
});

describe('drafts', () => {
  it('keeps one draft per chat, per user, and forgets a blank one', () => {
    saveDraft('alice', 'chat-1', 'half a thought');
    saveDraft('alice', 'chat-2', 'another');
    saveDraft('bob', 'chat-1', 'bob writes here');
    expect(loadDraft('alice', 'chat-1')).toBe('half a thought');
    expect(loadDraft('alice', 'chat-2')).toBe('another');
    expect(loadDraft('bob', 'chat-1')).toBe('bob writes here');
    saveDraft('alice', 'chat-1', '   ');
    expect(loadDraft('alice', 'chat-1')).toBe('');
    clearDraft('alice', 'chat-2');
    expect(loadDraft('alice', 'chat-2')).toBe('');
    expect(localStorage.getItem('parley.drafts.alice')).toBeNull();
    forgetDrafts('bob');
    expect(loadDraft('bob', 'chat-1')).toBe('');
  });

  it(`keeps the ${MAX_DRAFTS} most recently written drafts, each cut at ${MAX_DRAFT_CHARS} characters`, () => {
    let now = 1_000;
    vi.spyOn(Date, 'now').mockImplementation(() => now++);
    for (let i = 0; i <= MAX_DRAFTS; i++) saveDraft('alice', `chat-${i}`, `draft ${i}`);
    expect(loadDraft('alice', 'chat-0')).toBe('');
    expect(loadDraft('alice', 'chat-1')).toBe('draft 1');
    expect(loadDraft('alice', `chat-${MAX_DRAFTS}`)).toBe(`draft ${MAX_DRAFTS}`);
    saveDraft('alice', 'chat-1', 'x'.repeat(MAX_DRAFT_CHARS + 10));
    expect(loadDraft('alice', 'chat-1')).toHaveLength(MAX_DRAFT_CHARS);
  });

  it('survives storage that is full or holds something else', () => {
    localStorage.setItem('parley.drafts.alice', '{not json');
    expect(loadDraft('alice', 'chat-1')).toBe('');
    localStorage.setItem(
      'parley.drafts.alice',
      JSON.stringify({ a: { text: 1 }, b: { text: 'ok', at: 1 } }),
    );
    expect(loadDraft('alice', 'a')).toBe('');
    expect(loadDraft('alice', 'b')).toBe('ok');
    vi.spyOn(Storage.prototype, 'setItem').mockImplementation(() => {
      throw new DOMException('full', 'QuotaExceededError');
    });
    expect(() => saveDraft('alice', 'chat-1', 'text')).not.toThrow();
  });
});
