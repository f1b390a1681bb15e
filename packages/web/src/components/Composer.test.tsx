import { MESSAGE_MAX_LENGTH } from '@parley/protocol';
import { fireEvent, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import type { ComponentProps } from 'react';
import { afterEach, describe, expect, it, vi } from 'vitest';
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
