import type { Attachment, Message } from '@parley/protocol';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import * as f from '../test/factories.js';
import { FakeServer, fakeSession, settle, type FakeSocket } from './testing.js';
import { Uploads, formatSize, limitText } from './uploads.js';

const me = f.me();
const chat = f.chat([me, f.user()]);
const UPLOAD_ID = '7c1d3e2f-8a9b-4c0d-9e1f-2a3b4c5d6e7f';

function bytes(n: number): Uint8Array<ArrayBuffer> {
  return Uint8Array.from({ length: n }, (_, i) => (i * 7) % 251);
}

/** The server's side of one upload: what it holds, answering start/chunk/status/finish. */
function uploadServer(socket: FakeSocket, chunkSize: number) {
  const held: number[] = [];
  const server = {
    held,
    /** Chunks past this many bytes go unanswered (a connection that died mid-upload). */
    answerUpTo: Infinity,
    attachment: null as Attachment | null,
  };
  socket.answers.set('upload:start', () => ({ ok: true, uploadId: UPLOAD_ID, chunkSize }));
  socket.answers.set('upload:chunk', (p) => {
    const { offset, data } = p as { offset: number; data: Uint8Array };
    if (held.length >= server.answerUpTo) return undefined;
    expect(data).toBeInstanceOf(Uint8Array);
    if (offset !== held.length) {
      return { ok: false, error: { code: 'conflict', message: 'offset' }, received: held.length };
    }
    held.push(...data);
    return { ok: true, received: held.length };
  });
  socket.answers.set('upload:status', () => ({ ok: true, received: held.length }));
  socket.answers.set('upload:finish', () => {
    server.attachment = {
      id: '3f2e1d0c-9b8a-4765-8432-10fedcba9876',
      name: 'notes.txt',
      size: held.length,
      mime: 'text/plain',
      kind: 'file',
      width: null,
      height: null,
      url: '/api/uploads/3f2e1d0c-9b8a-4765-8432-10fedcba9876?exp=1&sig=x',
      thumbnail_url: null,
    };
    return { ok: true, attachment: server.attachment };
  });
  return server;
}

function setup(ackTimeoutMs = 50) {
  const { socket, session } = fakeSession(me);
  const stored = vi.fn<(m: Message) => void>();
  const uploads = new Uploads(session, { stored }, { ackTimeoutMs, rateLimitPauseMs: 10 });
  socket.serverEmit('connect');
  return { socket, uploads, stored };
}

const file = (content: Uint8Array<ArrayBuffer>, name = 'notes.txt', type = 'text/plain') =>
  new File([content], name, { type });

describe('uploads', () => {
  beforeEach(() => {
    new FakeServer().install();
  });

  it('says sizes and the limit in words', () => {
    expect(formatSize(812)).toBe('812 bytes');
    expect(formatSize(48 * 1024)).toBe('48 KB');
    expect(formatSize(2.4 * 1024 * 1024)).toBe('2.4 MB');
    expect(limitText(26_214_400)).toBe('Files up to 25 MB each');
  });

  it('uploads in binary chunks of the server’s size, then sends them in a message with no text', async () => {
    const { socket, uploads, stored } = setup();
    const server = uploadServer(socket, 1000);
    const content = bytes(2500);
    uploads.add(chat.id, [file(content)]);
    await settle(30);

    expect(socket.sent('upload:start')).toEqual([
      { chatId: chat.id, name: 'notes.txt', size: 2500, mime: 'text/plain' },
    ]);
    expect(socket.sent('upload:chunk').map((p) => (p as { offset: number }).offset)).toEqual([
      0, 1000, 2000,
    ]);
    expect(Uint8Array.from(server.held)).toEqual(content);
    const [done] = uploads.list(chat.id);
    expect(done).toMatchObject({ status: 'done', received: 2500, attachment: server.attachment });

    const message = { ...f.message(chat, me, 1, ''), attachments: [server.attachment!] };
    socket.answers.set('message:send', () => ({ ok: true, message }));
    await uploads.send(chat.id, '');
    expect(socket.sent('message:send')).toEqual([
      expect.objectContaining({
        chatId: chat.id,
        content: '',
        attachmentIds: [server.attachment!.id],
      }),
    ]);
    expect(stored).toHaveBeenCalledWith(message);
    expect(uploads.list(chat.id)).toEqual([]);
  });

  it('pauses on a drop and, on the next connect, goes on from the bytes upload:status names', async () => {
    // A long ack timeout: only the drop may pause it.
    const { socket, uploads } = setup(60_000);
    const server = uploadServer(socket, 1000);
    const content = bytes(4200);
    // The connection dies after two chunks: the third on the wire is never answered.
    server.answerUpTo = 2000;
    uploads.add(chat.id, [file(content)]);
    await settle(10);
    socket.serverEmit('disconnect');
    const paused = uploads.list(chat.id)[0]!;
    expect(paused.status).toBe('paused');
    const before = server.held.length;
    expect(before).toBe(2000);

    server.answerUpTo = Infinity;
    socket.serverEmit('connect');
    await settle(40);
    expect(socket.sent('upload:status')).toEqual([{ uploadId: UPLOAD_ID }]);
    // Nothing started over: one start, and the bytes end identical.
    expect(socket.sent('upload:start')).toHaveLength(1);
    expect(Uint8Array.from(server.held)).toEqual(content);
    expect(uploads.list(chat.id)[0]).toMatchObject({ status: 'done', received: 4200 });
  });

  it('refuses a file over the limit in words before a byte is sent', async () => {
    const { socket, uploads } = setup();
    new FakeServer()
      .route('GET', /^\/api\/uploads\/limits$/, () => ({
        status: 200,
        body: { max_bytes: 2048, chunk_size: 32768 },
      }))
      .install();
    await uploads.loadLimits();
    expect(uploads.getSnapshot().limit).toBe(2048);
    uploads.add(chat.id, [file(bytes(5000), 'big.bin')]);
    await settle();
    expect(socket.sent('upload:start')).toEqual([]);
    expect(uploads.list(chat.id)[0]).toMatchObject({
      status: 'failed',
      error: 'big.bin is 4.9 KB: files can be at most 2 KB.',
    });
    await expect(uploads.send(chat.id, 'hi')).rejects.toThrow(/could not be uploaded/);
  });

  it('learns the limit from the server’s refusal when it was not told', async () => {
    const { socket, uploads } = setup();
    socket.answers.set('upload:start', () => ({
      ok: false,
      error: {
        code: 'payload_too_large',
        message: 'files are at most 1000 bytes (MAX_UPLOAD_BYTES)',
      },
    }));
    uploads.add(chat.id, [file(bytes(3000), 'a.bin')]);
    await settle();
    expect(uploads.list(chat.id)[0]?.error).toBe(
      'a.bin is 2.9 KB: files can be at most 1000 bytes.',
    );
    expect(uploads.getSnapshot().limit).toBe(1000);
  });

  it('goes on after rate_limited, from the bytes the server holds', async () => {
    const { socket, uploads } = setup();
    const server = uploadServer(socket, 1000);
    const answer = socket.answers.get('upload:chunk')!;
    let refused = 0;
    socket.answers.set('upload:chunk', (p) => {
      if ((p as { offset: number }).offset === 1000 && refused++ === 0) {
        return { ok: false, error: { code: 'rate_limited', message: 'slow down' } };
      }
      return answer(p);
    });
    const content = bytes(3000);
    uploads.add(chat.id, [file(content)]);
    await settle(40);
    expect(refused).toBe(2);
    expect(Uint8Array.from(server.held)).toEqual(content);
    expect(uploads.list(chat.id)[0]?.status).toBe('done');
  });

  it('Cancel stops the upload: no more chunks, and it is gone from the list', async () => {
    const { socket, uploads } = setup(300);
    const server = uploadServer(socket, 100);
    server.answerUpTo = 300;
    uploads.add(chat.id, [file(bytes(10_000))]);
    while (socket.sent('upload:chunk').length < 4) await settle(1);
    const [u] = uploads.list(chat.id);
    uploads.remove(chat.id, u!.key);
    const sent = socket.sent('upload:chunk').length;
    server.answerUpTo = Infinity;
    // Past the ack timeout: an upload still alive would have asked upload:status and gone on.
    await new Promise((r) => setTimeout(r, 600));
    await settle();
    expect(socket.sent('upload:chunk').length).toBe(sent);
    expect(socket.sent('upload:status')).toEqual([]);
    expect(server.held.length).toBe(300);
    expect(socket.sent('upload:finish')).toEqual([]);
    expect(uploads.list(chat.id)).toEqual([]);
  });

  it('sends the same files again under the same clientMessageId after a lost ack', async () => {
    const { socket, uploads, stored } = setup();
    const server = uploadServer(socket, 1000);
    uploads.add(chat.id, [file(bytes(1200))]);
    await settle(30);
    // The first ack never comes: the send times out and the files stay.
    socket.answers.set('message:send', () => undefined);
    await expect(uploads.send(chat.id, '')).rejects.toThrow();
    expect(uploads.list(chat.id)).toHaveLength(1);
    const message = { ...f.message(chat, me, 1, ''), attachments: [server.attachment!] };
    socket.answers.set('message:send', () => ({ ok: true, message }));
    await uploads.send(chat.id, '');
    const [first, second] = socket.sent('message:send') as { clientMessageId: string }[];
    expect(second?.clientMessageId).toBe(first?.clientMessageId);
    expect(stored).toHaveBeenCalledWith(message);
    expect(uploads.list(chat.id)).toEqual([]);
  });

  it('will not send before every file has uploaded', async () => {
    const { socket, uploads } = setup();
    uploadServer(socket, 1000).answerUpTo = 0;
    uploads.add(chat.id, [file(bytes(3000))]);
    await settle(3);
    await expect(uploads.send(chat.id, 'look')).rejects.toThrow(
      'Wait until every file has uploaded, then send.',
    );
    expect(socket.sent('message:send')).toEqual([]);
  });
});
