import { MESSAGE_MAX_LENGTH } from '@parley/protocol';
import { fireEvent, render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
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
