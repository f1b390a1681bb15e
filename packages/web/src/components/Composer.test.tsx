import { MESSAGE_MAX_LENGTH } from '@parley/protocol';
import { act, fireEvent, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import type { ComponentProps } from 'react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FakeServer, fakeSession, settle } from '../client/testing.js';
import { Uploads } from '../client/uploads.js';
import * as f from '../test/factories.js';
import { Composer } from './Composer.js';

function renderComposer() {
  const onSend = vi.fn<(content: string) => void>();
  const onTyping = vi.fn<() => void>();
  const onStopTyping = vi.fn<() => void>();
  render(<Composer onSend={onSend} onTyping={onTyping} onStopTyping={onStopTyping} />);
  return {
    onSend,
    onTyping,
    onStopTyping,
    field: screen.getByRole('textbox', { name: 'Message' }),
  };
}

describe('Composer', () => {
  it('sends with Enter and clears the field', async () => {
    const { onSend, onTyping, field } = renderComposer();
    await userEvent.type(field, 'hello{Enter}');
    expect(onSend).toHaveBeenCalledExactlyOnceWith('hello');
    expect(onTyping).toHaveBeenCalled();
    expect(field).toHaveProperty('value', '');
  });

  it('breaks the line with Shift+Enter, and sends with the Send button', async () => {
    const { onSend, field } = renderComposer();
    await userEvent.type(field, 'one{Shift>}{Enter}{/Shift}two');
    expect(onSend).not.toHaveBeenCalled();
    expect(field).toHaveProperty('value', 'one\ntwo');
    await userEvent.click(screen.getByRole('button', { name: 'Send' }));
    expect(onSend).toHaveBeenCalledExactlyOnceWith('one\ntwo');
  });

  it('sends nothing for blank text', async () => {
    const { onSend, field } = renderComposer();
    await userEvent.type(field, '   {Enter}');
    expect(onSend).not.toHaveBeenCalled();
  });

  it('refuses a message over the limit and says it is too long', async () => {
    const { onSend, field } = renderComposer();
    // Code points, not UTF-16 units: each emoji is one character of the limit.
    fireEvent.change(field, { target: { value: '😀'.repeat(MESSAGE_MAX_LENGTH + 1) } });
    await userEvent.click(screen.getByRole('button', { name: 'Send' }));
    expect(onSend).not.toHaveBeenCalled();
    expect(screen.getByRole('alert').textContent).toMatch(/too long/);
  });

  it('accepts exactly the limit, counting code points after trimming', async () => {
    const { onSend, field } = renderComposer();
    const content = `  ${'😀'.repeat(MESSAGE_MAX_LENGTH)}  `;
    fireEvent.change(field, { target: { value: content } });
    expect(screen.queryByRole('alert')).toBeNull();
    await userEvent.click(screen.getByRole('button', { name: 'Send' }));
    expect(onSend).toHaveBeenCalledExactlyOnceWith(content);
  });
});

describe('Composer: a send that awaits its ack (files)', () => {
  /** A send whose acknowledgement comes when the test says. */
  function renderAwaiting() {
    let ack: () => void = () => {};
    const onSend = vi.fn(
      (_content: string) =>
        new Promise<void>((resolve) => {
          ack = resolve;
        }),
    );
    render(<Composer onSend={onSend} onTyping={() => {}} onStopTyping={() => {}} />);
    return {
      onSend,
      ack: () => act(async () => ack()),
      field: screen.getByRole('textbox', { name: 'Message' }),
    };
  }

  it('keeps what was typed while the send waited, and drops only what was sent', async () => {
    const { onSend, ack, field } = renderAwaiting();
    await userEvent.type(field, 'see attached{Enter}');
    expect(onSend).toHaveBeenCalledExactlyOnceWith('see attached');
    // Until the server stores it, the text stays (a refusal would leave it to send again).
    expect(field).toHaveProperty('value', 'see attached');
    await userEvent.type(field, ' and one more thing');
    // A second Enter while the first send waits sends nothing twice.
    await userEvent.type(field, '{Enter}');
    expect(onSend).toHaveBeenCalledOnce();
    await ack();
    expect(field).toHaveProperty('value', 'and one more thing');
  });

  it('keeps the whole field when the sent text itself was changed meanwhile', async () => {
    const { ack, field } = renderAwaiting();
    await userEvent.type(field, 'see attached{Enter}');
    await userEvent.clear(field);
    await userEvent.type(field, 'something else');
    await ack();
    expect(field).toHaveProperty('value', 'something else');
  });
});

describe('Composer: mentions and replies', () => {
  const bob = f.participant(f.user({ username: 'bob', display_name: 'Bob Stone' }));
  const carol = f.participant(f.user({ username: 'carol', display_name: 'Carol Brown' }));
  const dave = f.participant(f.user({ username: 'dave', display_name: 'Dave' }));

  function renderWith(props: Partial<ComponentProps<typeof Composer>> = {}) {
    const onSend = vi.fn<(content: string) => void>();
    render(
      <Composer
        onSend={onSend}
        onTyping={() => {}}
        onStopTyping={() => {}}
        people={[bob, carol, dave]}
        {...props}
      />,
    );
    return { onSend, field: screen.getByRole('textbox', { name: 'Message' }) };
  }

  it('offers the chat’s members on "@", narrowing as one types', async () => {
    const { field } = renderWith();
    await userEvent.type(field, 'hi @');
    const list = screen.getByRole('listbox', { name: 'People to mention' });
    expect(
      within(list)
        .getAllByRole('option')
        .map((o) => o.textContent),
    ).toEqual(['Bob Stone @bob', 'Carol Brown @carol', 'Dave @dave']);
    expect(field.getAttribute('aria-controls')).toBe(list.id);
    await userEvent.type(field, 'br');
    // A word of the display name counts too: "Brown".
    expect(
      within(list)
        .getAllByRole('option')
        .map((o) => o.textContent),
    ).toEqual(['Carol Brown @carol']);
  });

  it('moves with the arrows and picks with Enter, without sending', async () => {
    const { field, onSend } = renderWith();
    await userEvent.type(field, 'hi @');
    await userEvent.keyboard('{ArrowDown}');
    const active = field.getAttribute('aria-activedescendant');
    expect(document.getElementById(active ?? '')?.textContent).toBe('Carol Brown @carol');
    expect(document.getElementById(active ?? '')?.getAttribute('aria-selected')).toBe('true');
    await userEvent.keyboard('{Enter}');
    expect(onSend).not.toHaveBeenCalled();
    expect(field).toHaveProperty('value', 'hi @carol ');
    expect(screen.queryByRole('listbox')).toBeNull();
    await userEvent.type(field, 'look{Enter}');
    expect(onSend).toHaveBeenCalledExactlyOnceWith('hi @carol look');
  });

  it('picks with Tab, and Escape closes the list', async () => {
    const { field } = renderWith();
    await userEvent.type(field, '@da');
    await userEvent.keyboard('{Tab}');
    expect(field).toHaveProperty('value', '@dave ');
    expect(document.activeElement).toBe(field);
    await userEvent.type(field, '@');
    expect(screen.getByRole('listbox')).toBeTruthy();
    await userEvent.keyboard('{Escape}');
    expect(screen.queryByRole('listbox')).toBeNull();
    expect(field).toHaveProperty('value', '@dave @');
  });

  it('offers nothing after a letter (an address is no mention)', async () => {
    const { field } = renderWith();
    await userEvent.type(field, 'mail bob@');
    expect(screen.queryByRole('listbox')).toBeNull();
  });

  it('shows what is being answered; Escape or × cancels the reply', async () => {
    const onCancelReply = vi.fn();
    const { field } = renderWith({
      replyTo: { id: 'm1', name: 'Bob Stone', line: 'are you coming?' },
      onCancelReply,
    });
    expect(screen.getByText('Replying to Bob Stone')).toBeTruthy();
    expect(screen.getByText('are you coming?')).toBeTruthy();
    expect(document.activeElement).toBe(field);
    await userEvent.keyboard('{Escape}');
    expect(onCancelReply).toHaveBeenCalledOnce();
    await userEvent.click(screen.getByRole('button', { name: 'Cancel reply' }));
    expect(onCancelReply).toHaveBeenCalledTimes(2);
  });
});

describe('Composer: drafts and direction', () => {
  afterEach(() => localStorage.clear());

  const draftOf = { userId: 'user-a', chatId: 'chat-1' };
  const mount = () => {
    const onSend = vi.fn<(content: string) => void>();
    const view = render(
      <Composer onSend={onSend} onTyping={() => {}} onStopTyping={() => {}} draftOf={draftOf} />,
    );
    return { onSend, view, field: screen.getByRole('textbox', { name: 'Message' }) };
  };

  it('keeps the unsent text for the chat, brings it back, and forgets it once sent', async () => {
    const first = mount();
    await userEvent.type(first.field, 'half a thought');
    first.view.unmount();

    const again = mount();
    expect(again.field).toHaveProperty('value', 'half a thought');
    await userEvent.type(again.field, '{Enter}');
    expect(again.onSend).toHaveBeenCalledExactlyOnceWith('half a thought');
    again.view.unmount();
    expect(mount().field).toHaveProperty('value', '');
  });

  it('lets the browser pick the direction from the text (Hebrew, Arabic)', () => {
    const { field } = mount();
    expect(field.getAttribute('dir')).toBe('auto');
  });
});

describe('Composer attachments', () => {
  const me = f.me();
  const chat = f.chat([me, f.user()]);

  function renderWithUploads(limit = 10 * 1024 * 1024) {
    const { socket, session } = fakeSession(me);
    const stored = vi.fn();
    const uploads = new Uploads(session, { stored });
    socket.serverEmit('connect');
    new FakeServer()
      .route('GET', /^\/api\/uploads\/limits$/, () => ({
        status: 200,
        body: { max_bytes: limit, chunk_size: 1024 },
      }))
      .install();
    let received = 0;
    socket.answers.set('upload:start', () => ({
      ok: true,
      uploadId: '7c1d3e2f-8a9b-4c0d-9e1f-2a3b4c5d6e7f',
      chunkSize: 1024,
    }));
    const chunks = { answer: true };
    socket.answers.set('upload:chunk', (p) => {
      if (!chunks.answer) return undefined;
      received += (p as { data: Uint8Array }).data.byteLength;
      return { ok: true, received };
    });
    socket.answers.set('upload:finish', () => ({
      ok: true,
      attachment: {
        id: '3f2e1d0c-9b8a-4765-8432-10fedcba9876',
        name: 'notes.txt',
        size: received,
        mime: 'text/plain',
        kind: 'file',
        width: null,
        height: null,
        url: '/api/uploads/3f2e1d0c-9b8a-4765-8432-10fedcba9876?exp=1&sig=x',
        thumbnail_url: null,
      },
    }));
    const onSend = vi.fn((content: string) => uploads.send(chat.id, content));
    render(
      <Composer
        onSend={onSend}
        onTyping={() => {}}
        onStopTyping={() => {}}
        uploads={{ port: uploads, chatId: chat.id }}
      />,
    );
    return { socket, uploads, onSend, chunks };
  }

  const file = (size: number, name = 'notes.txt', type = 'text/plain') =>
    new File([new Uint8Array(size).fill(65)], name, { type });
  const input = () => document.querySelector<HTMLInputElement>('input[type="file"]')!;

  it('Attach file uploads the chosen file with a progress bar, then sends it with no text', async () => {
    const { socket, uploads, chunks } = renderWithUploads();
    await act(() => uploads.loadLimits());
    chunks.answer = false;
    await userEvent.upload(input(), file(3000));
    const bar = await screen.findByRole('progressbar', { name: 'Uploading notes.txt' });
    expect(bar.getAttribute('aria-valuenow')).toBe('0');
    expect(screen.getByText('2.9 KB')).toBeTruthy();
    expect(screen.getByText('Files up to 10 MB each')).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Cancel notes.txt' })).toBeTruthy();

    chunks.answer = true;
    // The unanswered chunk: as after a reconnect, upload:status says where to go on from.
    socket.answers.set('upload:status', () => ({ ok: true, received: 0 }));
    await act(async () => {
      socket.serverEmit('disconnect');
      socket.serverEmit('connect');
      await settle(30);
    });
    expect(await screen.findByText('Uploaded')).toBeTruthy();

    const message = f.message(chat, me, 1, '');
    socket.answers.set('message:send', () => ({ ok: true, message }));
    await userEvent.click(screen.getByRole('button', { name: 'Send' }));
    await act(() => settle());
    expect(socket.sent('message:send')).toEqual([
      expect.objectContaining({
        content: '',
        attachmentIds: ['3f2e1d0c-9b8a-4765-8432-10fedcba9876'],
      }),
    ]);
    expect(screen.queryByRole('list', { name: 'Files to send' })).toBeNull();
  });

  it('refuses a file over the limit in words, and Remove takes it away', async () => {
    const { socket, uploads } = renderWithUploads(2048);
    await act(() => uploads.loadLimits());
    expect(
      screen.getByRole('button', { name: 'Attach file' }).getAttribute('aria-describedby'),
    ).toBeTruthy();
    await userEvent.upload(input(), file(5000, 'big.bin'));
    expect((await screen.findByRole('alert')).textContent).toBe(
      'big.bin is 4.9 KB: files can be at most 2 KB.',
    );
    expect(socket.sent('upload:start')).toEqual([]);
    // Sending is refused while a refused file is there; the text stays.
    const field = screen.getByRole('textbox', { name: 'Message' });
    await userEvent.type(field, 'see attached{Enter}');
    await act(() => settle());
    expect(field).toHaveProperty('value', 'see attached');
    expect(screen.getAllByRole('alert').map((a) => a.textContent)).toContain(
      'Remove the files that could not be uploaded, then send.',
    );
    await userEvent.click(screen.getByRole('button', { name: 'Remove big.bin' }));
    expect(screen.queryByText('big.bin')).toBeNull();
  });

  // A drop anywhere on the open chat attaches too: ChatView.test.tsx.
  it('takes a pasted image', async () => {
    const { uploads } = renderWithUploads();
    await act(() => uploads.loadLimits());
    const field = screen.getByRole('textbox', { name: 'Message' });
    const shot = file(100, 'screenshot.png', 'image/png');
    fireEvent.paste(field, { clipboardData: { files: [shot], getData: () => '' } });
    expect(await screen.findByText('screenshot.png')).toBeTruthy();
  });
});
