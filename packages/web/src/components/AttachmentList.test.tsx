import type { Attachment } from '@parley/protocol';
import { fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ChatClient } from '../client/chat-client.js';
import { FakeServer, FakeSocket, settle } from '../client/testing.js';
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

describe('AttachmentList: signed URLs that ran out', () => {
  // `photo` and `report` carry exp=1: signed in 1970, long run out.
  const fresh = (a: Attachment): Attachment => {
    const exp = Math.floor(Date.now() / 1000) + 86_400;
    return { ...a, url: a.url.replace('exp=1', `exp=${exp}`) };
  };

  afterEach(() => {
    vi.unstubAllGlobals();
    vi.restoreAllMocks();
  });

  /**
   * The server as the contract has it for a URL whose signature ran out: 404 without the header,
   * the bytes with it. Object URLs are the browser's (jsdom has none): numbered, and recorded.
   */
  function setup() {
    const server = new FakeServer();
    server.route('GET', /^\/api\/uploads\//, (call) =>
      call.authorization
        ? { status: 200, body: 'bytes' }
        : { status: 404, body: { error: { code: 'not_found', message: 'attachment' } } },
    );
    server.install();
    const made: Blob[] = [];
    const revoked: string[] = [];
    vi.stubGlobal(
      'URL',
      Object.assign(class extends URL {}, {
        createObjectURL: (blob: Blob) => `blob:parley/${made.push(blob)}`,
        revokeObjectURL: (url: string) => revoked.push(url),
      }),
    );
    // The client of a session whose token a password change replaced: the new one is sent.
    const me = f.me();
    const client = new ChatClient('token-1', me, () => {}, { socket: new FakeSocket().asSocket() });
    client.updateAccount('token-2', me);
    const fetchAttachment = (url: string) => client.fetchAttachment(url);
    return { server, made, revoked, fetchAttachment };
  }

  it('an image that fails to load is fetched with the session’s header and shown from its blob', async () => {
    const { server, made, revoked, fetchAttachment } = setup();
    const { unmount } = render(
      <AttachmentList attachments={[photo]} fetchAttachment={fetchAttachment} />,
    );
    const img = screen.getByRole('img', { name: 'holiday.jpg' });
    expect(img.getAttribute('src')).toBe(photo.thumbnail_url);
    fireEvent.error(img);
    await waitFor(() => expect(img.getAttribute('src')).toBe('blob:parley/1'));
    // The same URL (its signature is no matter with the header), with the current token.
    expect(server.calls).toEqual([
      expect.objectContaining({
        method: 'GET',
        path: '/api/uploads/5b0e7a2c-64c6-4a43-9d0e-0c1f6f1f1c22/thumbnail',
        authorization: 'Bearer token-2',
      }),
    ]);
    expect(await made[0]?.text()).toBe('"bytes"');
    // Still named and sized as before: only where the bytes come from changed.
    expect(img.getAttribute('alt')).toBe('holiday.jpg');
    expect(img.getAttribute('width')).toBe('320');
    unmount();
    expect(revoked).toEqual(['blob:parley/1']);
  });

  it('tries the header once: a refusal with it too leaves the image to its name', async () => {
    const { server, fetchAttachment } = setup();
    server.route('GET', /^\/api\/uploads\//, () => ({
      status: 404,
      body: { error: { code: 'not_found', message: 'attachment' } },
    }));
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    render(<AttachmentList attachments={[photo]} fetchAttachment={fetchAttachment} />);
    const img = screen.getByRole('img', { name: 'holiday.jpg' });
    fireEvent.error(img);
    await waitFor(() => expect(server.calls).toHaveLength(1));
    fireEvent.error(img);
    await settle();
    expect(server.calls).toHaveLength(1);
    expect(img.getAttribute('src')).toBe(photo.thumbnail_url);
    expect(warn).toHaveBeenCalledOnce();
  });

  it('a file whose link ran out is downloaded with the header and saved under its name', async () => {
    const { server, made, fetchAttachment } = setup();
    const saved: { href: string; download: string }[] = [];
    vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (
      this: HTMLAnchorElement,
    ) {
      saved.push({ href: this.href, download: this.download });
    });
    render(<AttachmentList attachments={[report]} fetchAttachment={fetchAttachment} />);
    const link = screen.getByRole('link', { name: 'report.pdf' });
    // The browser's own download would fetch the signed URL: a 404 saved as the file.
    expect(fireEvent.click(link)).toBe(false);
    await waitFor(() => expect(saved).toEqual([{ href: 'blob:parley/1', download: 'report.pdf' }]));
    expect(server.calls.map((c) => [c.path, c.authorization])).toEqual([
      ['/api/uploads/6c1f8b3d-75d7-4b54-8e1f-1d2f7f2f2d33', 'Bearer token-2'],
    ]);
    expect(made).toHaveLength(1);
  });

  it('leaves a link whose signature still holds to the browser', () => {
    const { server, fetchAttachment } = setup();
    render(<AttachmentList attachments={[fresh(report)]} fetchAttachment={fetchAttachment} />);
    let prevented: boolean | null = null;
    // Past React's handler: what it did to the click, and then no navigation (jsdom has none).
    window.addEventListener(
      'click',
      (e) => {
        prevented = e.defaultPrevented;
        e.preventDefault();
      },
      { once: true },
    );
    fireEvent.click(screen.getByRole('link', { name: 'report.pdf' }));
    // Not prevented: the browser streams the download to disk, with its own progress.
    expect(prevented).toBe(false);
    expect(server.calls).toEqual([]);
  });

  it('says so when the header cannot fetch a file either', async () => {
    const { server, fetchAttachment } = setup();
    server.route('GET', /^\/api\/uploads\//, () => ({
      status: 404,
      body: { error: { code: 'not_found', message: 'attachment' } },
    }));
    render(<AttachmentList attachments={[report]} fetchAttachment={fetchAttachment} />);
    fireEvent.click(screen.getByRole('link', { name: 'report.pdf' }));
    expect((await screen.findByRole('alert')).textContent).toMatch(
      /^Could not download report\.pdf: /,
    );
  });
});
