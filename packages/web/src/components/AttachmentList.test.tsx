import type { Attachment } from '@parley/protocol';
import { render, screen, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import * as f from '../test/factories.js';
import { AttachmentList, attachmentSummary } from './AttachmentList.js';
import { MessageList } from './MessageList.js';

const photo: Attachment = {
  id: '5b0e7a2c-64c6-4a43-9d0e-0c1f6f1f1c22',
  name: 'holiday.jpg',
  size: 2_516_582,
  mime: 'image/jpeg',
  kind: 'image',
  width: 4000,
  height: 3000,
  url: '/api/uploads/5b0e7a2c-64c6-4a43-9d0e-0c1f6f1f1c22?exp=1&sig=a',
  thumbnail_url: '/api/uploads/5b0e7a2c-64c6-4a43-9d0e-0c1f6f1f1c22/thumbnail?exp=1&sig=b',
};
const report: Attachment = {
  id: '6c1f8b3d-75d7-4b54-8e1f-1d2f7f2f2d33',
  name: 'report.pdf',
  size: 48 * 1024,
  mime: 'application/pdf',
  kind: 'file',
  width: null,
  height: null,
  url: '/api/uploads/6c1f8b3d-75d7-4b54-8e1f-1d2f7f2f2d33?exp=1&sig=c',
  thumbnail_url: null,
};

describe('AttachmentList', () => {
  it('shows an image from its thumbnail, named by the file, sized before it loads, opening the original', () => {
    render(<AttachmentList attachments={[photo]} />);
    const img = screen.getByRole('img', { name: 'holiday.jpg' });
    expect(img.getAttribute('src')).toBe(photo.thumbnail_url);
    // 4000x3000 fits the 320 px thumbnail box as 320x240.
    expect([img.getAttribute('width'), img.getAttribute('height')]).toEqual(['320', '240']);
    const link = screen.getByRole('link', { name: 'holiday.jpg' });
    expect(link.getAttribute('href')).toBe(photo.url);
    expect(link.getAttribute('target')).toBe('_blank');
  });

  it('shows a file as a card with its name, size in words and a download link', () => {
    render(<AttachmentList attachments={[report]} />);
    const link = screen.getByRole('link', { name: 'report.pdf' });
    expect(link.getAttribute('href')).toBe(report.url);
    expect(link.getAttribute('download')).toBe('report.pdf');
    expect(screen.getByText('48 KB')).toBeTruthy();
    expect(screen.queryByRole('img')).toBeNull();
  });

  it('says what a message of attachments alone holds, for the chat list', () => {
    expect(attachmentSummary({ attachments: [photo] })).toBe('Photo');
    expect(attachmentSummary({ attachments: [photo, photo] })).toBe('2 photos');
    expect(attachmentSummary({ attachments: [report] })).toBe('report.pdf');
    expect(attachmentSummary({ attachments: [photo, report] })).toBe('2 files');
  });

  it('renders an image message with no text in the list: the picture, no empty text', () => {
    const me = f.me();
    const bob = f.user({ display_name: 'Bob' });
    const chat = f.chat([me, bob]);
    const m = {
      ...f.message(chat, bob, 1, ''),
      message_type: 'image' as const,
      attachments: [photo],
    };
    render(
      <MessageList
        chat={chat}
        meId={me.id}
        messages={[m]}
        outgoing={[]}
        hasMore={false}
        loading={false}
        error={null}
        now={new Date('2026-01-01T12:00:00.000Z')}
        onLoadOlder={() => {}}
        onRetry={() => {}}
      />,
    );
    const item = screen.getByRole('list', { name: 'Messages' });
    expect(within(item).getByRole('img', { name: 'holiday.jpg' })).toBeTruthy();
    expect(item.querySelector('.text')).toBeNull();
  });
});
