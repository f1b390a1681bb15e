import type { Chat, Message, User } from '@parley/protocol';
import { fireEvent, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Outgoing } from '../state.js';
import * as f from '../test/factories.js';
import { MessageList } from './MessageList.js';

const alice = f.me({ username: 'alice', display_name: 'Alice' });
const bob = f.user({ username: 'bob', display_name: 'Bob' });
const carol = f.user({ username: 'carol', display_name: 'Carol' });

function show(chat: Chat, seqs: [number, User][], outgoing: Outgoing[] = []) {
  const onRetry = vi.fn<(id: string) => void>();
  const messages = seqs.map(([seq, who]) => f.message(chat, who, seq, `text ${seq}`));
  render(
    <MessageList
      chat={chat}
      meId={alice.id}
      messages={messages}
      outgoing={outgoing}
      hasMore={false}
      loading={false}
      error={null}
      now={new Date('2026-01-01T12:00:00.000Z')}
      onLoadOlder={() => {}}
      onRetry={onRetry}
    />,
  );
  const list = screen.getByRole('list', { name: 'Messages' });
  return { onRetry, list, items: within(list).getAllByRole('listitem') };
}

const withReads = (chat: Chat, reads: Record<string, number>): Chat => ({
  ...chat,
  participants: chat.participants.map((p) => ({ ...p, last_read_seq: reads[p.id] ?? 0 })),
});

describe('MessageList', () => {
  it('shows one item per message, in order, with its sender', () => {
    const chat = f.chat([alice, bob]);
    const { items } = show(chat, [
      [1, bob],
      [2, bob],
      [3, alice],
    ]);
    expect(items.map((li) => within(li).getByText(/^text \d$/).textContent)).toEqual([
      'text 1',
      'text 2',
      'text 3',
    ]);
    // Bob's two messages form one group: his name heads it once.
    expect(screen.getAllByText('Bob')).toHaveLength(1);
  });

  it("puts the sender's handle beside their name in a group", () => {
    const fake = f.user({ username: 'mallory', display_name: 'Bob' });
    const group = f.chat([alice, bob, fake], { name: 'Team' });
    const { items } = show(group, [
      [1, bob],
      [2, fake],
    ]);
    expect(items[0]!.querySelector('.sender')?.textContent).toBe('Bob @bob');
    expect(items[1]!.querySelector('.sender')?.textContent).toBe('Bob @mallory');
  });

  it('says "Seen" under my message once the other person has read it', () => {
    const chat = f.chat([alice, bob]);
    const { items } = show(withReads(chat, { [alice.id]: 2, [bob.id]: 1 }), [
      [1, alice],
      [2, alice],
    ]);
    expect(within(items[0]!).getByText('Seen')).toBeTruthy();
    expect(within(items[1]!).getByText('Sent')).toBeTruthy();
    expect(screen.getAllByText('Seen')).toHaveLength(1);
  });

  it('counts readers in a group', () => {
    const group = f.chat([alice, bob, carol], { name: 'Team' });
    show(withReads(group, { [alice.id]: 1, [bob.id]: 1, [carol.id]: 1 }), [[1, alice]]);
    expect(screen.getByText('Seen by 2')).toBeTruthy();
  });

  it('marks a failed message and retries it by its clientMessageId', async () => {
    const chat = f.chat([alice, bob]);
    const failed: Outgoing = {
      clientMessageId: 'client-1',
      chatId: chat.id,
      content: 'did it go?',
      createdAt: '2026-01-01T11:59:00.000Z',
      status: 'failed',
      replyToId: null,
      error: 'You are sending too fast. Wait a moment, then try again.',
    };
    const { items, onRetry } = show(chat, [[1, bob]], [failed]);
    const item = items[1]!;
    expect(within(item).getByText('did it go?')).toBeTruthy();
    expect(item.textContent).toMatch(/Not sent\. You are sending too fast/);
    await userEvent.click(within(item).getByRole('button', { name: 'Retry' }));
    expect(onRetry).toHaveBeenCalledExactlyOnceWith('client-1');
  });

  it('shows a message being sent at once', () => {
    const chat = f.chat([alice, bob]);
    const sending: Outgoing = {
      clientMessageId: 'client-2',
      chatId: chat.id,
      content: 'on its way',
      createdAt: '2026-01-01T11:59:00.000Z',
      status: 'sending',
      replyToId: null,
      error: null,
    };
    const { items } = show(chat, [], [sending]);
    expect(items).toHaveLength(1);
    expect(items[0]!.textContent).toMatch(/on its way.*Sending…/);
  });
});

describe('MessageList: separators and Jump to latest', () => {
  const at = (m: Message, iso: string): Message => ({ ...m, created_at: iso });

  function list(chat: Chat, messages: Message[]) {
    const props = {
      chat,
      meId: alice.id,
      messages,
      outgoing: [],
      hasMore: false,
      loading: false,
      error: null,
      now: new Date('2026-01-01T12:00:00.000Z'),
      onLoadOlder: () => {},
      onRetry: () => {},
    };
    const view = render(<MessageList {...props} />);
    return {
      el: screen.getByRole('list', { name: 'Messages' }),
      rerender: (change: Partial<typeof props>) =>
        view.rerender(<MessageList {...props} {...change} />),
    };
  }

  it('heads each day with Today, Yesterday or its date', () => {
    const chat = f.chat([alice, bob]);
    list(chat, [
      at(f.message(chat, bob, 1), '2025-12-20T10:00:00.000Z'),
      at(f.message(chat, bob, 2), '2025-12-20T10:01:00.000Z'),
      at(f.message(chat, bob, 3), '2025-12-31T10:00:00.000Z'),
      at(f.message(chat, bob, 4), '2026-01-01T10:00:00.000Z'),
    ]);
    const days = [...document.querySelectorAll('.day-divider')].map((d) => d.textContent);
    expect(days).toHaveLength(3);
    expect(days[0]).toMatch(/20/);
    expect(days[0]).toMatch(/2025/);
    expect(days.slice(1)).toEqual(['Yesterday', 'Today']);
  });

  it('puts "Unread messages" above the first message past my mark as it was on opening', () => {
    const chat = f.chat([alice, bob], { unread_count: 2 });
    const opened: Chat = {
      ...chat,
      participants: chat.participants.map((p) => ({ ...p, last_read_seq: 1 })),
    };
    const messages = [1, 2, 3].map((seq) => f.message(chat, bob, seq));
    const { el, rerender } = list(opened, messages);
    const items = () => within(el).getAllByRole('listitem');
    expect(within(items()[1]!).getByText('Unread messages')).toBeTruthy();
    expect(screen.getAllByText('Unread messages')).toHaveLength(1);

    // Reading them moves the mark; the separator stays where it was while the chat is open.
    const read: Chat = {
      ...opened,
      unread_count: 0,
      participants: opened.participants.map((p) => ({ ...p, last_read_seq: 3 })),
    };
    rerender({ chat: read, messages: [...messages, f.message(chat, bob, 4)] });
    expect(within(items()[1]!).getByText('Unread messages')).toBeTruthy();
  });

  it('shows no unread separator when nothing was unread', () => {
    const chat = f.chat([alice, bob]);
    list(chat, [f.message(chat, bob, 1), f.message(chat, bob, 2)]);
    expect(screen.queryByText('Unread messages')).toBeNull();
  });

  it('offers "Jump to latest" when scrolled up, and jumps', async () => {
    const chat = f.chat([alice, bob]);
    const { el } = list(chat, [f.message(chat, bob, 1), f.message(chat, bob, 2)]);
    Object.defineProperty(el, 'scrollHeight', { configurable: true, value: 2000 });
    Object.defineProperty(el, 'clientHeight', { configurable: true, value: 500 });
    expect(screen.queryByRole('button', { name: 'Jump to latest' })).toBeNull();
    el.scrollTop = 600;
    fireEvent.scroll(el);
    await userEvent.click(screen.getByRole('button', { name: 'Jump to latest' }));
    expect(el.scrollTop).toBe(2000);
    expect(screen.queryByRole('button', { name: 'Jump to latest' })).toBeNull();
    expect(document.activeElement).toBe(el);
  });
});

describe('MessageList: reading and scrolling', () => {
  // jsdom lays nothing out: each test gives the list its sizes and drives the observers.
  let resizes: (() => void)[] = [];
  let sights: { root: Element; callback: IntersectionObserverCallback; targets: Element[] }[] = [];

  class FakeResizeObserver {
    constructor(private readonly callback: () => void) {
      resizes.push(() => this.callback());
    }
    observe() {}
    unobserve() {}
    disconnect() {}
  }

  class FakeIntersectionObserver {
    readonly entry: (typeof sights)[number];
    constructor(callback: IntersectionObserverCallback, options: IntersectionObserverInit) {
      this.entry = { root: options.root as Element, callback, targets: [] };
      sights.push(this.entry);
    }
    observe(target: Element) {
      this.entry.targets.push(target);
    }
    unobserve() {}
    disconnect() {
      this.entry.targets = [];
    }
  }

  /** Tells the list's IntersectionObserver which of its items are on screen now. */
  function onScreen(seqs: number[]) {
    for (const sight of sights) {
      const entries = sight.targets.map((target) => {
        const shown = seqs.includes(Number((target as HTMLElement).dataset.seq));
        return {
          target,
          isIntersecting: shown,
          intersectionRatio: shown ? 1 : 0,
          intersectionRect: { height: shown ? 40 : 0 },
          rootBounds: { height: 500 },
        } as unknown as IntersectionObserverEntry;
      });
      sight.callback(entries, sight as unknown as IntersectionObserver);
    }
  }

  beforeEach(() => {
    resizes = [];
    sights = [];
    vi.stubGlobal('ResizeObserver', FakeResizeObserver);
    vi.stubGlobal('IntersectionObserver', FakeIntersectionObserver);
  });

  afterEach(() => {
    vi.unstubAllGlobals();
    vi.restoreAllMocks();
  });

  /** A list 500 px high whose content is `height` px: 40 px per message, by seq. */
  function sized(el: HTMLElement, height: () => number) {
    Object.defineProperty(el, 'scrollHeight', { configurable: true, get: height });
    Object.defineProperty(el, 'clientHeight', { configurable: true, value: 500, writable: true });
  }

  function setup(chat: Chat, count: number, more: { hasMore?: boolean; firstSeq?: number } = {}) {
    const first = more.firstSeq ?? 1;
    const messages = Array.from({ length: count }, (_, i) => f.message(chat, bob, first + i));
    // Each item sits 40 px below the one before it, by its seq.
    vi.spyOn(HTMLElement.prototype, 'getBoundingClientRect').mockImplementation(function (
      this: HTMLElement,
    ) {
      const list = this.closest('ol');
      const top = this.dataset.seq
        ? (Number(this.dataset.seq) - first) * 40 - (list?.scrollTop ?? 0)
        : 0;
      return { top, bottom: top + 40, height: 40, left: 0, right: 0, width: 0 } as DOMRect;
    });
    const onLoadOlder = vi.fn();
    const props = {
      chat,
      meId: alice.id,
      messages,
      outgoing: [] as Outgoing[],
      hasMore: more.hasMore ?? false,
      loading: true,
      error: null,
      now: new Date('2026-01-01T12:00:00.000Z'),
      onLoadOlder,
      onRetry: () => {},
    };
    // Mounted while the history loads, as when a chat is opened; sized before it shows.
    const view = render(<MessageList {...props} messages={[]} />);
    const el = screen.getByRole('list', { name: 'Messages' });
    let shown = messages;
    sized(el, () => shown.length * 40);
    const rerender = (change: Partial<typeof props>) => {
      shown = change.messages ?? shown;
      Object.assign(props, change);
      view.rerender(<MessageList {...props} />);
    };
    rerender({ loading: false });
    return { el, messages, rerender, onLoadOlder };
  }

  const unreadFrom = (seq: number, unread: number) => {
    const chat = f.chat([alice, bob], { unread_count: unread });
    return {
      ...chat,
      participants: chat.participants.map((p) => ({ ...p, last_read_seq: seq - 1 })),
    };
  };

  it('stays at the bottom when the list gets shorter (composer, banner, phone keyboard)', () => {
    const chat = f.chat([alice, bob]);
    const { el } = setup(chat, 30);
    expect(el.scrollTop).toBe(1200);
    // A browser keeps scrollTop within what can be scrolled: 1200 - 500.
    el.scrollTop = 700;
    fireEvent.scroll(el);
    // The phone keyboard opens: 344 px less room, the end stays in view.
    Object.defineProperty(el, 'clientHeight', { configurable: true, value: 156 });
    for (const resized of resizes) resized();
    expect(el.scrollTop).toBe(1200);
    expect(el.scrollHeight - el.scrollTop - el.clientHeight).toBeLessThanOrEqual(0);
  });

  it('stays where the reader is when they scrolled up and the list resizes', () => {
    const chat = f.chat([alice, bob]);
    const { el } = setup(chat, 30);
    el.scrollTop = 300;
    fireEvent.scroll(el);
    Object.defineProperty(el, 'clientHeight', { configurable: true, value: 156 });
    for (const resized of resizes) resized();
    expect(el.scrollTop).toBe(300);
  });

  it('opens at the first unread message, under "Unread messages", not at the bottom', () => {
    // Seqs 1-30; 11-30 unread: seq 11 is 400 px down the list.
    const { el } = setup(unreadFrom(11, 20), 30);
    expect(el.scrollTop).toBe(400 - 8);
    const first = el.querySelector('[data-seq="11"]')!;
    expect(within(first as HTMLElement).getByText('Unread messages')).toBeTruthy();
    expect(
      screen.getByRole('button', { name: 'Jump to latest, 20 new messages' }).textContent,
    ).toBe('20 new messages');
  });

  it('loads older pages to reach the first unread message, a few at most', () => {
    const { onLoadOlder } = setup(unreadFrom(11, 40), 30, { firstSeq: 21, hasMore: true });
    expect(onLoadOlder).toHaveBeenCalledTimes(1);
  });

  it('reports as seen only what was on screen while the page was visible', async () => {
    const seen = vi.spyOn(await import('../client/read-marks.js'), 'reportSeen');
    const { el, messages } = setup(unreadFrom(11, 20), 30);
    expect(sights[0]?.root).toBe(el);
    onScreen([11, 12, 13]);
    expect(seen).toHaveBeenLastCalledWith({
      chatId: messages[12]!.chat_id,
      messageId: messages[12]!.id,
      seq: 13,
    });
    // Hidden page: nothing counts as seen until it is visible again.
    seen.mockClear();
    const hidden = vi.spyOn(document, 'visibilityState', 'get').mockReturnValue('hidden');
    onScreen([20, 21]);
    expect(seen).not.toHaveBeenCalled();
    hidden.mockReturnValue('visible');
    fireEvent(document, new Event('visibilitychange'));
    expect(seen).toHaveBeenLastCalledWith(expect.objectContaining({ seq: 21 }));
    // The count of new messages below goes down with what was seen.
    expect(screen.getByRole('button', { name: 'Jump to latest, 9 new messages' })).toBeTruthy();
  });

  it('counts messages that arrive while scrolled up on Jump to latest, and jumps', async () => {
    const chat = f.chat([alice, bob]);
    const { el, messages, rerender } = setup(chat, 30);
    el.scrollTop = 300;
    fireEvent.scroll(el);
    expect(screen.getByRole('button', { name: 'Jump to latest' })).toBeTruthy();
    const more = [31, 32, 33].map((seq) => f.message(chat, bob, seq));
    rerender({ messages: [...messages, ...more] });
    expect(el.scrollTop).toBe(300);
    const jump = screen.getByRole('button', { name: 'Jump to latest, 3 new messages' });
    expect(jump.textContent).toMatch(/3 new messages$/);
    await userEvent.click(jump);
    expect(el.scrollTop).toBe(33 * 40);
    expect(screen.queryByRole('button', { name: /^Jump to latest/ })).toBeNull();
  });

  it('tells the read marks when it leaves the newest messages and when it is back', async () => {
    const following = vi.spyOn(await import('../client/read-marks.js'), 'reportFollowing');
    const chat = f.chat([alice, bob]);
    const { el } = setup(chat, 30);
    expect(following).toHaveBeenLastCalledWith({ chatId: chat.id, following: true });
    el.scrollTop = 300;
    fireEvent.scroll(el);
    expect(following).toHaveBeenLastCalledWith({ chatId: chat.id, following: false });
    await userEvent.click(screen.getByRole('button', { name: 'Jump to latest' }));
    expect(following).toHaveBeenLastCalledWith({ chatId: chat.id, following: true });
  });
});

describe('MessageList: new messages read aloud', () => {
  function setup(count: number) {
    const chat = f.chat([alice, bob, carol], { name: 'Team' });
    const messages = Array.from({ length: count }, (_, i) =>
      f.message(chat, i % 2 ? bob : carol, i + 11),
    );
    const props = {
      chat,
      meId: alice.id,
      messages: [] as Message[],
      outgoing: [] as Outgoing[],
      hasMore: true,
      loading: true,
      error: null,
      now: new Date('2026-01-01T12:00:00.000Z'),
      onLoadOlder: () => {},
      onRetry: () => {},
    };
    const view = render(<MessageList {...props} />);
    const rerender = (change: Partial<typeof props>) => {
      Object.assign(props, change);
      view.rerender(<MessageList {...props} />);
    };
    rerender({ messages, loading: false });
    const region = document.querySelector('[aria-live="polite"].message-announcer')!;
    return { chat, messages, rerender, region, text: () => region.textContent };
  }

  it('reads a message from someone else as "Bob: hello", and not my own', () => {
    const { chat, messages, rerender, text } = setup(5);
    // What was there on opening is not news.
    expect(text()).toBe('');
    const hello = f.message(chat, bob, 16, 'hello');
    rerender({ messages: [...messages, hello] });
    expect(text()).toBe('Bob: hello');
    rerender({ messages: [...messages, hello, f.message(chat, alice, 17, 'hi Bob')] });
    expect(text()).toBe('Bob: hello');
    // The same words again are a new announcement (a new node in the region).
    const before = document.querySelector('.message-announcer span');
    rerender({
      messages: [
        ...messages,
        hello,
        f.message(chat, alice, 17, 'hi Bob'),
        f.message(chat, bob, 18, 'hello'),
      ],
    });
    expect(text()).toBe('Bob: hello');
    expect(document.querySelector('.message-announcer span')).not.toBe(before);
  });

  it('says nothing of older history loaded on scrolling up, and sums up a catch-up', () => {
    const { chat, messages, rerender, text } = setup(5);
    const older = Array.from({ length: 10 }, (_, i) => f.message(chat, bob, i + 1));
    rerender({ messages: [...older, ...messages] });
    expect(text()).toBe('');
    // After a reconnect, five arrive at once: summed up, not read one by one.
    const missed = Array.from({ length: 5 }, (_, i) => f.message(chat, bob, 16 + i));
    rerender({ messages: [...older, ...messages, ...missed] });
    expect(text()).toBe('5 new messages');
  });
});
