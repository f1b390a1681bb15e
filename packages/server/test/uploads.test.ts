import { createHash, randomBytes } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { request } from 'node:http';
import path from 'node:path';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Ack, Attachment, ErrorResponse, Message, MessagePage } from '@parley/protocol';
import { UploadLinks } from '../src/services/upload-links.js';
import {
  closeSockets,
  connect,
  createDirect,
  createGroup,
  emitAck,
  registerUsers,
  sendMessage,
  waitFor,
  type ClientSocket,
  type TestUser,
} from './helpers/client.js';
import { startServer, type TestServer } from './helpers/server.js';

// Registering users hashes passwords (Argon2id): slow on a busy machine, and these tests do a lot.
vi.setConfig({ testTimeout: 120_000 });

const SMALL_MAX = 100_000;
let server: TestServer;
/** MAX_UPLOAD_BYTES of 100 kB, to go past it cheaply. */
let small: TestServer;
beforeAll(async () => {
  [server, small] = await Promise.all([startServer(), startServer({ maxUploadBytes: SMALL_MAX })]);
}, 180_000);
afterEach(() => closeSockets());
afterAll(() => Promise.all([server?.close(), small?.close()]));

const NOBODY = '9d3c2b1a-0f9e-4d8c-b7a6-5e4d3c2b1a09';
const CHUNK = 32 * 1024;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const code = (ack: { ok: boolean; error?: { code: string } }) => (ack.ok ? 'ok' : ack.error?.code);

type ReceivedAck = Ack<{ received: number }>;

const start = (s: ClientSocket, payload: unknown) =>
  emitAck<'upload:start', { uploadId: string; chunkSize: number }>(s, 'upload:start', payload);
const chunk = (s: ClientSocket, payload: unknown) =>
  emitAck<'upload:chunk', { received: number }>(s, 'upload:chunk', payload);
const status = (s: ClientSocket, uploadId: string) =>
  emitAck<'upload:status', { received: number }>(s, 'upload:status', { uploadId });
const finish = (s: ClientSocket, uploadId: string) =>
  emitAck<'upload:finish', { attachment: Attachment }>(s, 'upload:finish', { uploadId });

function ok<T extends object>(ack: Ack<T>): T {
  if (!ack.ok) throw new Error(`refused: ${JSON.stringify(ack)}`);
  return ack;
}

/**
 * Sends `bytes[from..to)` in chunks, a few in flight at once, as a client does: they land in
 * order; after a `conflict` (a chunk of an earlier connection landed meanwhile) it goes on from
 * the `received` the server names.
 */
async function sendChunks(
  s: ClientSocket,
  uploadId: string,
  bytes: Buffer,
  from: number,
  to: number,
  inFlight = 8,
): Promise<number> {
  let received = from;
  let next = from;
  let pending: Promise<ReceivedAck>[] = [];
  while (next < to || pending.length > 0) {
    while (next < to && pending.length < inFlight) {
      const end = Math.min(next + CHUNK, to);
      pending.push(chunk(s, { uploadId, offset: next, data: bytes.subarray(next, end) }));
      next = end;
    }
    const ack = (await pending.shift()) as ReceivedAck & { received?: number };
    if (ack.ok) {
      received = ack.received;
    } else if (ack.error.code === 'conflict' && ack.received !== undefined) {
      // Everything in flight was sent from a wrong offset too: settle it, then go on from there.
      const rest = await Promise.all(pending);
      pending = [];
      received = Math.max(
        ack.received,
        ...rest.map((r) => (r.ok ? r.received : ((r as { received?: number }).received ?? 0))),
      );
      next = received;
    } else {
      throw new Error(`refused: ${JSON.stringify(ack)}`);
    }
  }
  return received;
}

async function uploadOverSocket(
  s: ClientSocket,
  chatId: string,
  bytes: Buffer,
  name = 'file.bin',
  mime = 'application/octet-stream',
): Promise<Attachment> {
  const { uploadId } = ok(await start(s, { chatId, name, size: bytes.length, mime }));
  await sendChunks(s, uploadId, bytes, 0, bytes.length);
  return ok(await finish(s, uploadId)).attachment;
}

async function uploadOverHttp(
  base: string,
  user: TestUser,
  fields: [string, string | Blob, string?][],
): Promise<{ status: number; body: { attachment: Attachment } & { error?: { code: string } } }> {
  const form = new FormData();
  for (const [k, v, filename] of fields) {
    if (typeof v === 'string') form.append(k, v);
    else form.append(k, v, filename);
  }
  const res = await fetch(`${base}/api/uploads`, {
    method: 'POST',
    headers: { authorization: `Bearer ${user.token}` },
    body: form,
  });
  return { status: res.status, body: (await res.json()) as never };
}

const httpUpload = async (
  user: TestUser,
  chatId: string,
  bytes: Uint8Array,
  name: string,
  type = 'application/octet-stream',
): Promise<Attachment> => {
  const res = await uploadOverHttp(server.url, user, [
    ['chatId', chatId],
    ['file', new Blob([bytes], { type }), name],
  ]);
  if (res.status !== 201) throw new Error(`upload: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.attachment;
};

const get = (url: string, token?: string, headers: Record<string, string> = {}) =>
  fetch(`${server.url}${url}`, {
    headers: { ...headers, ...(token ? { authorization: `Bearer ${token}` } : {}) },
  });
const bytesOf = async (res: Response) => Buffer.from(await res.arrayBuffer());
/** The URL without its signature: only the Authorization header can open it. */
const unsigned = (url: string) => url.split('?')[0] ?? url;

/** Every file under the server's uploads directory, temporary ones included. */
async function filesOf(s: TestServer): Promise<string[]> {
  try {
    const entries = await readdir(s.config.uploadsDir, { recursive: true, withFileTypes: true });
    return entries
      .filter((e) => e.isFile())
      .map((e) => path.relative(s.config.uploadsDir, path.join(e.parentPath, e.name)));
  } catch {
    return [];
  }
}

/** The ids of the attachment rows, finished or not, that these users uploaded. */
async function rowsOf(s: TestServer, users: TestUser[]): Promise<string[]> {
  const rows = await s.app.database.db
    .selectFrom('attachments')
    .select('id')
    .where(
      'uploader_id',
      'in',
      users.map((u) => u.user.id),
    )
    .execute();
  return rows.map((r) => r.id).sort();
}

const BOUNDARY = 'parley-test-boundary';
/**
 * A multipart body written by hand, for what FormData will not send: a part header holding U+0000,
 * a body cut short. `close: false` leaves the closing boundary out.
 */
function multipart(
  parts: { name: string; value: string | Buffer; filename?: string; type?: string }[],
  { close = true } = {},
): Buffer {
  const chunks = parts.flatMap((p) => [
    Buffer.from(
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${p.name}"` +
        (p.filename === undefined ? '' : `; filename="${p.filename}"`) +
        '\r\n' +
        (p.type === undefined ? '' : `Content-Type: ${p.type}\r\n`) +
        '\r\n',
    ),
    Buffer.from(p.value),
    Buffer.from('\r\n'),
  ]);
  if (close) chunks.push(Buffer.from(`--${BOUNDARY}--\r\n`));
  return Buffer.concat(chunks);
}

async function postMultipart(
  base: string,
  user: TestUser,
  body: Buffer,
): Promise<{ status: number; code: string | undefined }> {
  const res = await fetch(`${base}/api/uploads`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${user.token}`,
      'content-type': `multipart/form-data; boundary=${BOUNDARY}`,
    },
    body,
  });
  const json = (await res.json()) as Partial<ErrorResponse>;
  return { status: res.status, code: json.error?.code };
}

/** A JPEG taken "with the phone on its side" (EXIF orientation 6) at a GPS position. */
async function jpegWithGps(): Promise<Buffer> {
  const base = await sharp({
    create: { width: 400, height: 200, channels: 3, background: '#c33' },
  })
    .jpeg()
    .toBuffer();
  return sharp(base)
    .withMetadata({ orientation: 6 })
    .withExif({
      IFD0: { Make: 'ParleyCam' },
      IFD3: {
        GPSLatitudeRef: 'N',
        GPSLatitude: '48/1 51/1 29/1',
        GPSLongitudeRef: 'E',
        GPSLongitude: '2/1 17/1 40/1',
      },
    })
    .jpeg()
    .toBuffer();
}

/** A valid PNG of a few hundred bytes whose header declares 20000 x 20000 pixels. */
function declaredHugePng(): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc32 = (b: Buffer) => {
    let c = 0xffffffff;
    for (const byte of b) c = (crcTable[(c ^ byte) & 0xff] ?? 0) ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunkOf = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(20_000, 0);
  ihdr.writeUInt32BE(20_000, 4);
  ihdr[8] = 8; // bit depth; colour type 0 (grey)
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 13, 10, 26, 10]),
    chunkOf('IHDR', ihdr),
    chunkOf('IDAT', deflateSync(Buffer.alloc(4096))),
    chunkOf('IEND', Buffer.alloc(0)),
  ]);
}

const png = (w: number, h: number) =>
  sharp({ create: { width: w, height: h, channels: 4, background: '#3a6' } })
    .png()
    .toBuffer();

describe('upload errors over the socket', () => {
  it('answers each refusal with its code, and a wrong offset with what was received', async () => {
    const [alice, bob, eve] = await registerUsers(server.url, 3);
    const chat = await createDirect(alice, bob);
    const [a, e] = await Promise.all([
      connect(server.url, alice.token),
      connect(server.url, eve.token),
    ]);
    const file = { chatId: chat.id, name: 'notes.txt', size: 100, mime: 'text/plain' };

    expect(code(await start(a, { ...file, chatId: 'nope' }))).toBe('validation_failed');
    expect(code(await start(a, { ...file, size: 0 }))).toBe('validation_failed');
    expect(code(await start(a, { ...file, name: 'a/b.txt' }))).toBe('validation_failed');
    expect(code(await start(a, { ...file, name: '\u202egnp.exe' }))).toBe('validation_failed');
    expect(code(await start(a, { ...file, chatId: NOBODY }))).toBe('not_found');
    expect(code(await start(e, file))).toBe('forbidden');
    expect(code(await start(a, { ...file, size: 26_214_401 }))).toBe('payload_too_large');

    const started = ok(await start(a, file));
    expect(started.chunkSize).toBeLessThanOrEqual(32 * 1024);
    const { uploadId } = started;
    const data = randomBytes(100);
    expect(code(await chunk(a, { uploadId, offset: 0, data: 'text' }))).toBe('validation_failed');
    expect(code(await chunk(a, { uploadId, offset: 0, data: randomBytes(CHUNK + 1) }))).toBe(
      'validation_failed',
    );
    expect(code(await chunk(a, { uploadId: NOBODY, offset: 0, data }))).toBe('not_found');
    // Someone else's upload is no upload of theirs.
    expect(code(await chunk(e, { uploadId, offset: 0, data }))).toBe('not_found');
    expect(code(await status(e, uploadId))).toBe('not_found');
    expect(code(await finish(e, uploadId))).toBe('not_found');

    ok(await chunk(a, { uploadId, offset: 0, data: data.subarray(0, 40) }));
    const wrong = (await chunk(a, { uploadId, offset: 10, data: data.subarray(10) })) as {
      ok: false;
      error: { code: string };
      received: number;
    };
    expect(wrong.error.code).toBe('conflict');
    expect(wrong.received).toBe(40);
    // Past the declared size.
    expect(code(await chunk(a, { uploadId, offset: 40, data: randomBytes(61) }))).toBe(
      'validation_failed',
    );
    const early = (await finish(a, uploadId)) as {
      ok: false;
      error: { code: string };
      received: number;
    };
    expect(early.error.code).toBe('conflict');
    expect(early.received).toBe(40);

    expect(ok(await chunk(a, { uploadId, offset: 40, data: data.subarray(40) })).received).toBe(
      100,
    );
    const { attachment } = ok(await finish(a, uploadId));
    expect(attachment).toMatchObject({ name: 'notes.txt', size: 100, kind: 'file' });
    // Finishing again answers the same; a chunk after it is a conflict at the end.
    expect(ok(await finish(a, uploadId)).attachment.id).toBe(attachment.id);
    const late = (await chunk(a, { uploadId, offset: 100, data: randomBytes(1) })) as {
      ok: boolean;
      error: { code: string };
    };
    expect(late.error.code).toBe('validation_failed');
    const again = (await chunk(a, { uploadId, offset: 0, data })) as {
      ok: false;
      received: number;
      error: { code: string };
    };
    expect(again.error.code).toBe('conflict');
    expect(again.received).toBe(100);
    expect(ok(await status(a, uploadId)).received).toBe(100);
  });
});

describe('U+0000 in an upload', () => {
  it('is refused with validation_failed in every text of upload:start and of the multipart POST, keeping nothing', async () => {
    const [alice, bob] = await registerUsers(server.url, 2);
    const chat = await createDirect(alice, bob);
    const a = await connect(server.url, alice.token);
    const file = { chatId: chat.id, name: 'notes.txt', size: 100, mime: 'text/plain' };
    const before = await filesOf(server);
    for (const bad of [
      { mime: 'image/png\u0000' },
      { mime: 'image/png;\u0000' },
      { mime: 'text/plain; charset=utf-8\u0000' },
      { name: 'notes\u0000.txt' },
      { chatId: `${chat.id}\u0000` },
    ]) {
      expect(code(await start(a, { ...file, ...bad })), JSON.stringify(bad)).toBe(
        'validation_failed',
      );
    }

    const part = { name: 'file', filename: 'notes.txt', type: 'text/plain', value: 'hello' };
    const chatIdPart = { name: 'chatId', value: chat.id };
    for (const [what, parts] of [
      ['content type', [chatIdPart, { ...part, type: 'text/plain\u0000' }]],
      ['content type, file first', [{ ...part, type: 'text/plain\u0000' }, chatIdPart]],
      ['file name', [chatIdPart, { ...part, filename: 'notes\u0000.txt' }]],
      ['file name, file first', [{ ...part, filename: 'notes\u0000.txt' }, chatIdPart]],
      ['chatId', [{ name: 'chatId', value: `${chat.id}\u0000` }, part]],
      ['chatId, file first', [part, { name: 'chatId', value: `${chat.id}\u0000` }]],
    ] as const) {
      expect(await postMultipart(server.url, alice, multipart([...parts])), what).toEqual({
        status: 400,
        code: 'validation_failed',
      });
    }
    expect(await rowsOf(server, [alice])).toEqual([]);
    expect(await filesOf(server)).toEqual(before);
    // The same body without the U+0000 is taken.
    expect(await postMultipart(server.url, alice, multipart([chatIdPart, part]))).toEqual({
      status: 201,
      code: undefined,
    });
  });
});

describe('a 10 MB upload over the socket', () => {
  it('resumes after a reconnect from what the server received, and ends byte-identical', async () => {
    const [alice, bob] = await registerUsers(server.url, 2);
    const chat = await createDirect(alice, bob);
    const bytes = randomBytes(10 * 1024 * 1024);
    let s = await connect(server.url, alice.token);
    const { uploadId, chunkSize } = ok(
      await start(s, { chatId: chat.id, name: 'video.mp4', size: bytes.length, mime: 'video/mp4' }),
    );
    expect(chunkSize).toBe(CHUNK);
    const half = Math.floor(bytes.length / CHUNK / 2) * CHUNK;
    await sendChunks(s, uploadId, bytes, 0, half);
    // Chunks still in flight when the connection drops: the server keeps what it took.
    for (let off = half; off < half + 4 * CHUNK; off += CHUNK) {
      s.emit('upload:chunk', { uploadId, offset: off, data: bytes.subarray(off, off + CHUNK) });
    }
    s.disconnect();

    // A new connection (with several processes, likely another one) asks where to go on from.
    s = await connect(server.url, alice.token);
    const { received } = ok(await status(s, uploadId));
    expect(received).toBeGreaterThanOrEqual(half);
    expect(received % CHUNK).toBe(0);
    await sendChunks(s, uploadId, bytes, received, bytes.length);
    const { attachment } = ok(await finish(s, uploadId));
    expect(attachment).toMatchObject({ size: bytes.length, kind: 'file', mime: 'video/mp4' });

    const res = await get(attachment.url);
    expect(res.status).toBe(200);
    expect(sha(await bytesOf(res))).toBe(sha(bytes));
    expect((await filesOf(server)).filter((f) => f.includes(attachment.id))).toEqual([
      `${attachment.id.slice(0, 2)}/${attachment.id}`,
    ]);
  });
});

describe('POST /api/uploads', () => {
  /** The attachment a PDF named report.pdf of `size` bytes becomes: a file, no thumbnail. */
  const reportPdf = (size: number) => ({
    name: 'report.pdf',
    size,
    mime: 'application/pdf',
    kind: 'file',
    width: null,
    height: null,
    thumbnail_url: null,
  });

  it('streams a file in, checks the chat first, and stops past MAX_UPLOAD_BYTES with 413', async () => {
    const [alice, bob, eve] = await registerUsers(server.url, 3);
    const chat = await createDirect(alice, bob);
    const bytes = randomBytes(300_000);
    const attachment = await httpUpload(alice, chat.id, bytes, 'report.pdf', 'application/pdf');
    expect(attachment).toMatchObject(reportPdf(bytes.length));
    expect(sha(await bytesOf(await get(attachment.url)))).toBe(sha(bytes));

    const blob = new Blob([bytes]);
    const refused = async (u: TestUser, fields: [string, string | Blob, string?][]) =>
      (await uploadOverHttp(server.url, u, fields)).status;
    expect(
      await refused(alice, [
        ['chatId', 'nope'],
        ['file', blob, 'x.bin'],
      ]),
    ).toBe(400);
    expect(await refused(alice, [['chatId', chat.id]])).toBe(400);
    expect(
      await refused(alice, [
        ['chatId', NOBODY],
        ['file', blob, 'x.bin'],
      ]),
    ).toBe(404);
    expect(
      await refused(eve, [
        ['chatId', chat.id],
        ['file', blob, 'x.bin'],
      ]),
    ).toBe(403);
    const json = await alice.api.post('/uploads', { chatId: chat.id });
    expect(json.status).toBe(400);
    const anonymous = await fetch(`${server.url}/api/uploads`, { method: 'POST' });
    expect(anonymous.status).toBe(401);

    // Past the limit, on a server whose limit is 100 kB: while streaming, and nothing is kept.
    const [carol, dave] = await registerUsers(small.url, 2);
    const smallChat = await createDirect(carol, dave);
    const over = await uploadOverHttp(small.url, carol, [
      ['chatId', smallChat.id],
      ['file', new Blob([randomBytes(SMALL_MAX + 1)]), 'big.bin'],
    ]);
    expect(over.status).toBe(413);
    expect(over.body.error?.code).toBe('payload_too_large');
    const atLimit = await uploadOverHttp(small.url, carol, [
      ['chatId', smallChat.id],
      ['file', new Blob([randomBytes(SMALL_MAX)]), 'fits.bin'],
    ]);
    expect(atLimit.status).toBe(201);
    expect(await filesOf(small)).toEqual([
      `${atLimit.body.attachment.id.slice(0, 2)}/${atLimit.body.attachment.id}`,
    ]);
    // And over the socket, the same limit.
    const c = await connect(small.url, carol.token);
    expect(
      code(
        await start(c, {
          chatId: smallChat.id,
          name: 'big.bin',
          size: SMALL_MAX + 1,
          mime: 'application/octet-stream',
        }),
      ),
    ).toBe('payload_too_large');
  });

  it('answers a malformed multipart body with 400, keeping nothing', async () => {
    const [alice, bob] = await registerUsers(server.url, 2);
    const chat = await createDirect(alice, bob);
    const before = await filesOf(server);
    const cut =
      `--xyz\r\nContent-Disposition: form-data; name="chatId"\r\n\r\n${chat.id}\r\n` +
      `--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n` +
      `Content-Type: text/plain\r\n\r\nhello`; // no closing boundary
    for (const [contentType, body] of [
      ['multipart/form-data; boundary=xyz', cut],
      ['multipart/form-data; boundary=xyz', 'garbage'],
      ['multipart/form-data', cut],
      [`multipart/form-data; boundary=${'b'.repeat(300)}`, cut],
    ] as const) {
      const res = await fetch(`${server.url}/api/uploads`, {
        method: 'POST',
        headers: { authorization: `Bearer ${alice.token}`, 'content-type': contentType },
        body,
      });
      expect(res.status, contentType).toBe(400);
      expect(((await res.json()) as ErrorResponse).error.code).toBe('validation_failed');
    }
    expect(await filesOf(server)).toEqual(before);
  });

  it('takes the file before chatId too: the same attachment, the same refusals, nothing kept after one', async () => {
    const [alice, bob, eve] = await registerUsers(server.url, 3);
    const chat = await createDirect(alice, bob);
    const before = await filesOf(server);
    const bytes = randomBytes(300_000);
    const pdf = new Blob([bytes], { type: 'application/pdf' });
    const fileFirst = async (u: TestUser, chatId: string, file = pdf, name = 'report.pdf') => {
      const res = await uploadOverHttp(server.url, u, [
        ['file', file, name],
        ['chatId', chatId],
      ]);
      return res.status === 201 ? res.body.attachment : [res.status, res.body.error?.code];
    };

    const attachment = (await fileFirst(alice, chat.id)) as Attachment;
    expect(attachment).toMatchObject(reportPdf(bytes.length));
    expect(sha(await bytesOf(await get(attachment.url)))).toBe(sha(bytes));
    // An image is still read from its bytes, and both can be sent.
    const image = (await fileFirst(
      alice,
      chat.id,
      new Blob([await png(40, 20)], { type: 'image/png' }),
      'dot.png',
    )) as Attachment;
    expect(image).toMatchObject({ kind: 'image', mime: 'image/png', width: 40, height: 20 });
    const s = await connect(server.url, alice.token);
    ok(
      await sendMessage(s, {
        chatId: chat.id,
        content: '',
        attachmentIds: [attachment.id, image.id],
      }),
    );

    // The chat is checked once chatId arrives, after the bytes: the same answers as before them.
    expect(await fileFirst(alice, NOBODY)).toEqual([404, 'not_found']);
    expect(await fileFirst(eve, chat.id)).toEqual([403, 'forbidden']);
    expect(await fileFirst(alice, 'nope')).toEqual([400, 'validation_failed']);
    // A malformed part answers before a chat of nothing, as the contract orders them.
    expect(await fileFirst(alice, NOBODY, new Blob([]))).toEqual([400, 'validation_failed']);
    expect(await fileFirst(alice, NOBODY, pdf, '\u202egnp.exe')).toEqual([
      400,
      'validation_failed',
    ]);
    const noChat = await uploadOverHttp(server.url, alice, [['file', pdf, 'report.pdf']]);
    expect([noChat.status, noChat.body.error?.code]).toEqual([400, 'validation_failed']);

    // Past the limit, the file first: 413 while it streams, and nothing is kept.
    const [carol, dave] = await registerUsers(small.url, 2);
    const smallChat = await createDirect(carol, dave);
    const smallBefore = await filesOf(small);
    const over = await uploadOverHttp(small.url, carol, [
      ['file', new Blob([randomBytes(SMALL_MAX + 1)]), 'big.bin'],
      ['chatId', smallChat.id],
    ]);
    expect([over.status, over.body.error?.code]).toEqual([413, 'payload_too_large']);
    const atLimit = await uploadOverHttp(small.url, carol, [
      ['file', new Blob([randomBytes(SMALL_MAX)]), 'fits.bin'],
      ['chatId', smallChat.id],
    ]);
    expect(atLimit.status).toBe(201);
    const fits = atLimit.body.attachment.id;
    expect((await filesOf(small)).filter((f) => !smallBefore.includes(f))).toEqual([
      `${fits.slice(0, 2)}/${fits}`,
    ]);
    expect(await rowsOf(small, [carol])).toEqual([fits]);

    // Of every refusal, no file and no row: only the two attachments are there.
    const keyOf = (a: Attachment) => `${a.id.slice(0, 2)}/${a.id}`;
    expect((await filesOf(server)).filter((f) => !before.includes(f)).sort()).toEqual(
      [keyOf(attachment), keyOf(image), `${keyOf(image)}.thumb`].sort(),
    );
    expect(await rowsOf(server, [alice, eve])).toEqual([attachment.id, image.id].sort());
  });

  it('deletes a file that waited for chatId when the body ends without it or the client goes', async () => {
    const [alice] = await registerUsers(server.url, 1);
    const before = await filesOf(server);
    const file = { name: 'file', filename: 'a.bin', type: 'application/octet-stream' };

    // The body ends inside the file (no boundary after it), or after it, before chatId's value.
    const cut = multipart([{ ...file, value: randomBytes(50_000) }], { close: false });
    expect(await postMultipart(server.url, alice, cut)).toEqual({
      status: 400,
      code: 'validation_failed',
    });
    const halfChat = Buffer.concat([
      multipart([{ ...file, value: randomBytes(50_000) }], { close: false }),
      Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="chatId"\r\n\r\n`),
    ]);
    expect(await postMultipart(server.url, alice, halfChat)).toEqual({
      status: 400,
      code: 'validation_failed',
    });
    expect(await filesOf(server)).toEqual(before);

    // The client goes while the file streams in, and once it is whole (waiting for chatId).
    const content = randomBytes(200_000);
    const nextPart = `--${BOUNDARY}\r\nContent-Disposition: form-data; name="chatId"\r\n\r\n`;
    for (const [sent, onDisk] of [
      [multipart([{ ...file, value: content }], { close: false }), 1],
      [
        Buffer.concat([
          multipart([{ ...file, value: content }], { close: false }),
          Buffer.from(nextPart),
        ]),
        content.length,
      ],
    ] as const) {
      const req = request(`${server.url}/api/uploads`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${alice.token}`,
          'content-type': `multipart/form-data; boundary=${BOUNDARY}`,
          'content-length': String(sent.length + 1000),
        },
      });
      req.on('error', () => {});
      req.write(sent);
      await vi.waitFor(
        async () => {
          const held = (await filesOf(server)).filter((f) => !before.includes(f));
          expect(held).toHaveLength(1);
          const size = (await stat(path.join(server.config.uploadsDir, held[0] ?? ''))).size;
          expect(size).toBeGreaterThanOrEqual(onDisk);
        },
        { timeout: 20_000, interval: 20 },
      );
      // Long enough for the part to end and the server to wait for the next one.
      await new Promise((resolve) => setTimeout(resolve, 200));
      req.destroy();
      await vi.waitFor(async () => expect(await filesOf(server)).toEqual(before), {
        timeout: 20_000,
        interval: 50,
      });
    }
    expect(await rowsOf(server, [alice])).toEqual([]);
  });

  it('counts uploads against the per-user rate limit', async () => {
    const limited = await startServer({ rateLimitMessages: 2 });
    try {
      const [alice, bob] = await registerUsers(limited.url, 2);
      const chat = await createDirect(alice, bob);
      const s = await connect(limited.url, alice.token);
      const file = { chatId: chat.id, name: 'a.txt', size: 1, mime: 'text/plain' };
      expect(code(await start(s, file))).toBe('ok');
      const http = await uploadOverHttp(limited.url, alice, [
        ['chatId', chat.id],
        ['file', new Blob(['x']), 'b.txt'],
      ]);
      expect(http.status).toBe(201);
      expect(code(await start(s, file))).toBe('rate_limited');
    } finally {
      await limited.close();
    }
  });
});

describe('serving', () => {
  it('serves the uploader and the chat of the message; anyone else, or a bad signature, gets 404', async () => {
    const [alice, bob, carol, eve] = await registerUsers(server.url, 4);
    const group = await createGroup(alice, [bob, carol]);
    const bytes = randomBytes(5000);
    const attachment = await httpUpload(alice, group.id, bytes, 'plan.txt', 'text/plain');
    const url = unsigned(attachment.url);

    // Before it is sent: the uploader alone.
    expect((await get(url, alice.token)).status).toBe(200);
    expect((await get(url, bob.token)).status).toBe(404);
    const res = await alice.api.post<Message>(`/chats/${group.id}/messages`, {
      content: '',
      attachmentIds: [attachment.id],
    });
    expect(res.status).toBe(201);
    const sent = res.body.attachments[0];
    if (!sent) throw new Error('no attachment');
    for (const who of [alice, bob, carol]) {
      const r = await get(url, who.token);
      expect(r.status).toBe(200);
      expect(sha(await bytesOf(r))).toBe(sha(bytes));
    }
    // A stranger with a token, or with nothing at all.
    expect((await get(url, eve.token)).status).toBe(404);
    expect((await get(url)).status).toBe(404);
    expect((await get(url, 'not-a-token')).status).toBe(404);
    // Removed: the token no longer opens it.
    expect(
      (await alice.api.delete(`/chats/${group.id}/participants/${carol.user.id}`)).status,
    ).toBe(204);
    expect((await get(url, carol.token)).status).toBe(404);

    // The signed URL as given opens it for anyone (an <img>); altered or expired, it does not.
    expect((await get(sent.url)).status).toBe(200);
    const sig = new URL(sent.url, server.url).searchParams.get('sig') ?? '';
    const altered = sent.url.replace(sig, `${sig.slice(0, -1)}${sig.endsWith('A') ? 'B' : 'A'}`);
    expect((await get(altered)).status).toBe(404);
    const exp = new URL(sent.url, server.url).searchParams.get('exp') ?? '';
    expect((await get(sent.url.replace(`exp=${exp}`, `exp=${Number(exp) + 43_200}`))).status).toBe(
      404,
    );
    // Signed by this server's secret two days ago: expired.
    const old = new UploadLinks(server.config.jwtSecret, () => Date.now() - 2 * 86_400_000);
    const expired = old.attachment({ ...sent, thumbnail: false }).url;
    expect(new URL(expired, server.url).searchParams.get('exp')).not.toBe(exp);
    expect((await get(expired)).status).toBe(404);
    // A signature for one attachment opens no other.
    const other = await httpUpload(alice, group.id, randomBytes(10), 'other.txt');
    expect(
      (await get(`${unsigned(other.url)}?${new URL(sent.url, server.url).searchParams.toString()}`))
        .status,
    ).toBe(404);
  });

  it('sends files as attachments no browser renders, with nosniff and a sandboxing CSP; ranges answer 206', async () => {
    const [alice, bob] = await registerUsers(server.url, 2);
    const chat = await createDirect(alice, bob);
    const svg = Buffer.from(
      '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(document.cookie)</script></svg>',
    );
    const a = await httpUpload(alice, chat.id, svg, 'pretty picture.svg', 'image/svg+xml');
    expect(a).toMatchObject({
      kind: 'file',
      mime: 'application/octet-stream',
      thumbnail_url: null,
    });
    const res = await get(a.url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    expect(res.headers.get('content-disposition')).toBe(
      `attachment; filename="pretty picture.svg"; filename*=UTF-8''pretty%20picture.svg`,
    );
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-security-policy')).toBe("default-src 'none'; sandbox");
    expect(await bytesOf(res)).toEqual(svg);
    // An HTML file, whatever it calls itself, and a name past ASCII.
    const html = await httpUpload(
      alice,
      chat.id,
      Buffer.from('<h1>hi</h1>'),
      'Überblick «1».html',
      'text/html',
    );
    const h = await get(html.url);
    expect(h.headers.get('content-type')).toBe('application/octet-stream');
    expect(h.headers.get('content-disposition')).toBe(
      `attachment; filename="_berblick _1_.html"; filename*=UTF-8''%C3%9Cberblick%20%C2%AB1%C2%BB.html`,
    );
    // Errors of upload routes carry the same headers.
    const missing = await get(`/api/uploads/${NOBODY}`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-security-policy')).toBe("default-src 'none'; sandbox");

    const big = randomBytes(200_000);
    const f = await httpUpload(alice, chat.id, big, 'big.bin');
    const part = await get(f.url, undefined, { range: 'bytes=1000-1999' });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 1000-1999/${big.length}`);
    expect(await bytesOf(part)).toEqual(big.subarray(1000, 2000));
    const tail = await get(f.url, undefined, { range: 'bytes=-10' });
    expect(await bytesOf(tail)).toEqual(big.subarray(big.length - 10));
    const outside = await get(f.url, undefined, { range: `bytes=${big.length}-` });
    expect(outside.status).toBe(416);
    expect(outside.headers.get('content-range')).toBe(`bytes */${big.length}`);
  });
});

describe('images', () => {
  it('reads an image from its bytes: a thumbnail without GPS, turned upright; the original kept byte for byte', async () => {
    const [alice, bob] = await registerUsers(server.url, 2);
    const chat = await createDirect(alice, bob);
    const jpeg = await jpegWithGps();
    const before = await sharp(jpeg).metadata();
    expect(before.exif?.includes(Buffer.from('ParleyCam'))).toBe(true);
    // Named and declared as something else: the bytes decide.
    const a = await httpUpload(alice, chat.id, jpeg, 'holiday.dat', 'application/octet-stream');
    // The camera held the phone on its side: shown 200 wide and 400 high.
    expect(a).toMatchObject({ kind: 'image', mime: 'image/jpeg', width: 200, height: 400 });
    expect(a.thumbnail_url).toMatch(/^\/api\/uploads\/[0-9a-f-]+\/thumbnail\?exp=\d+&sig=/);

    const original = await get(a.url);
    expect(original.headers.get('content-type')).toBe('image/jpeg');
    expect(original.headers.get('content-disposition')).toMatch(/^inline; /);
    expect(sha(await bytesOf(original))).toBe(sha(jpeg));

    const thumbRes = await get(a.thumbnail_url ?? '');
    expect(thumbRes.status).toBe(200);
    expect(thumbRes.headers.get('content-type')).toBe('image/webp');
    expect(thumbRes.headers.get('content-security-policy')).toBe("default-src 'none'; sandbox");
    const thumb = await bytesOf(thumbRes);
    const meta = await sharp(thumb).metadata();
    expect(meta.format).toBe('webp');
    expect([meta.width, meta.height]).toEqual([160, 320]);
    expect(meta.exif).toBeUndefined();
    expect(meta.orientation).toBeUndefined();
    expect(thumb.includes(Buffer.from('ParleyCam'))).toBe(false);

    // A small PNG over the socket keeps its size (never enlarged).
    const s = await connect(server.url, alice.token);
    const small = await uploadOverSocket(s, chat.id, await png(40, 30), 'dot.png', 'image/png');
    expect(small).toMatchObject({ kind: 'image', mime: 'image/png', width: 40, height: 30 });
    const smallThumb = await sharp(await bytesOf(await get(small.thumbnail_url ?? ''))).metadata();
    expect([smallThumb.width, smallThumb.height]).toEqual([40, 30]);
  });

  it('keeps a declared-huge image as a file, undecoded, and a fake image as a file', async () => {
    const [alice, bob] = await registerUsers(server.url, 2);
    const chat = await createDirect(alice, bob);
    const bomb = declaredHugePng();
    expect(bomb.length).toBeLessThan(1000);
    const a = await httpUpload(alice, chat.id, bomb, 'bomb.png', 'image/png');
    expect(a).toMatchObject({
      kind: 'file',
      mime: 'application/octet-stream',
      width: null,
      height: null,
      thumbnail_url: null,
    });
    const res = await get(a.url);
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    expect(await bytesOf(res)).toEqual(bomb);
    // No thumbnail was made.
    expect((await filesOf(server)).some((f) => f.includes(`${a.id}.thumb`))).toBe(false);

    // A PNG's first bytes, then nothing an image decoder can read.
    const fake = Buffer.concat([bomb.subarray(0, 8), Buffer.from('this is no image at all')]);
    const f = await httpUpload(alice, chat.id, fake, 'photo.png', 'image/png');
    expect(f).toMatchObject({
      kind: 'file',
      mime: 'application/octet-stream',
      thumbnail_url: null,
    });
    const text = await httpUpload(alice, chat.id, Buffer.from('hello'), 'photo.jpg', 'image/jpeg');
    expect(text.kind).toBe('file');
  });
});

describe('sending attachments', () => {
  it('edits a message with attachments to say nothing, as it could have been sent; a text one not', async () => {
    const [alice, bob] = await registerUsers(server.url, 2);
    const chat = await createDirect(alice, bob);
    const a = await connect(server.url, alice.token);
    const doc = await httpUpload(alice, chat.id, Buffer.from('text'), 'notes.txt', 'text/plain');
    const captioned = ok(
      await sendMessage(a, { chatId: chat.id, content: 'the notes', attachmentIds: [doc.id] }),
    ).message;
    const edited = await alice.api.patch<Message>(`/chats/${chat.id}/messages/${captioned.id}`, {
      content: '',
    });
    expect(edited.status).toBe(200);
    expect(edited.body).toMatchObject({ content: '', attachments: [{ id: doc.id }] });
    const text = ok(await sendMessage(a, { chatId: chat.id, content: 'words' })).message;
    const refused = await alice.api.patch<ErrorResponse>(`/chats/${chat.id}/messages/${text.id}`, {
      content: ' ',
    });
    expect([refused.status, refused.body.error.code]).toEqual([400, 'validation_failed']);
  });

  it('sends 1 to 10 of ones own unsent uploads; image when every one is an image, else file', async () => {
    const [alice, bob, carol] = await registerUsers(server.url, 3);
    const chat = await createDirect(alice, bob);
    const other = await createDirect(alice, carol);
    const [a, b] = await Promise.all([
      connect(server.url, alice.token),
      connect(server.url, bob.token),
    ]);
    const img1 = await httpUpload(alice, chat.id, await png(10, 10), 'one.png');
    const img2 = await uploadOverSocket(a, chat.id, await png(20, 10), 'two.png', 'image/png');
    const doc = await httpUpload(alice, chat.id, Buffer.from('text'), 'notes.txt', 'text/plain');

    const heard = waitFor(b, 'message:new');
    const images = ok(
      await sendMessage(a, { chatId: chat.id, content: '', attachmentIds: [img2.id, img1.id] }),
    ).message;
    expect(images.message_type).toBe('image');
    expect(images.content).toBe('');
    expect(images.attachments.map((x) => x.id)).toEqual([img2.id, img1.id]);
    expect(images.attachments[0]).toMatchObject({
      name: 'two.png',
      kind: 'image',
      width: 20,
      height: 10,
    });
    const delivered = await heard;
    expect(delivered.attachments.map((x) => x.id)).toEqual([img2.id, img1.id]);
    // Bob reads them as a participant, with the header or the URL as given.
    expect((await get(unsigned(delivered.attachments[0]?.url ?? ''), bob.token)).status).toBe(200);
    expect((await get(delivered.attachments[1]?.thumbnail_url ?? '')).status).toBe(200);

    const img3 = await httpUpload(alice, chat.id, await png(5, 5), 'three.png');
    const mixed = await alice.api.post<Message>(`/chats/${chat.id}/messages`, {
      content: 'see these',
      messageType: 'text',
      attachmentIds: [doc.id, img3.id],
    });
    expect(mixed.status).toBe(201);
    expect(mixed.body.message_type).toBe('file');
    // History carries them, in order, with fresh URLs.
    const page = await bob.api.get<MessagePage>(`/chats/${chat.id}/messages`);
    expect(page.body.messages.map((m) => m.attachments.map((x) => x.name))).toEqual([
      ['two.png', 'one.png'],
      ['notes.txt', 'three.png'],
    ]);

    const refusal = async (payload: Record<string, unknown>) =>
      code(await sendMessage(a, { chatId: chat.id, content: '', ...payload }));
    // Sent already; someone else's; another chat's; unfinished; nothing at all.
    expect(await refusal({ attachmentIds: [img1.id] })).toBe('validation_failed');
    const bobs = await httpUpload(bob, chat.id, Buffer.from('b'), 'b.txt');
    expect(await refusal({ attachmentIds: [bobs.id] })).toBe('validation_failed');
    const elsewhere = await httpUpload(alice, other.id, Buffer.from('c'), 'c.txt');
    expect(await refusal({ attachmentIds: [elsewhere.id] })).toBe('validation_failed');
    const { uploadId } = ok(
      await start(a, { chatId: chat.id, name: 'x', size: 5, mime: 'text/plain' }),
    );
    expect(await refusal({ attachmentIds: [uploadId] })).toBe('validation_failed');
    expect(await refusal({ attachmentIds: [NOBODY] })).toBe('validation_failed');
    expect(await refusal({ attachmentIds: [] })).toBe('validation_failed');
    expect(await refusal({ attachmentIds: Array.from({ length: 11 }, () => NOBODY) })).toBe(
      'validation_failed',
    );
    const fresh = await httpUpload(alice, chat.id, Buffer.from('d'), 'd.txt');
    expect(await refusal({ attachmentIds: [fresh.id, fresh.id] })).toBe('validation_failed');
    expect(await refusal({})).toBe('validation_failed');
    expect(await refusal({ content: 'hi', messageType: 'image' })).toBe('validation_failed');
    // One refused id stores nothing of the others: `fresh` can still go, alone.
    expect(await refusal({ attachmentIds: [fresh.id, img1.id] })).toBe('validation_failed');
    const alone = ok(
      await sendMessage(a, { chatId: chat.id, content: '', attachmentIds: [fresh.id] }),
    );
    expect(alone.message.message_type).toBe('file');

    // Two sends racing for one attachment: one message holds it.
    const contested = await httpUpload(alice, chat.id, Buffer.from('e'), 'e.txt');
    const race = await Promise.all([
      alice.api.post(`/chats/${chat.id}/messages`, { content: '1', attachmentIds: [contested.id] }),
      alice.api.post(`/chats/${chat.id}/messages`, { content: '2', attachmentIds: [contested.id] }),
    ]);
    expect(race.map((r) => r.status).sort()).toEqual([201, 400]);
  });

  it('acks a repeated send with attachments with the first message, in turn and racing', async () => {
    const [alice, bob] = await registerUsers(server.url, 2);
    const chat = await createDirect(alice, bob);
    const a = await connect(server.url, alice.token);
    const file = await httpUpload(
      alice,
      chat.id,
      Buffer.from('minutes'),
      'minutes.txt',
      'text/plain',
    );
    const payload = {
      chatId: chat.id,
      content: '',
      attachmentIds: [file.id],
      clientMessageId: 'm-1',
    };
    const first = ok(await sendMessage(a, payload)).message;
    // The ack was lost: the client sends the same message again.
    expect(ok(await sendMessage(a, payload)).message.id).toBe(first.id);

    const other = await httpUpload(
      alice,
      chat.id,
      Buffer.from('agenda'),
      'agenda.txt',
      'text/plain',
    );
    const again = { ...payload, attachmentIds: [other.id], clientMessageId: 'm-2' };
    const racing = await Promise.all([sendMessage(a, again), sendMessage(a, again)]);
    const [one, two] = racing.map((r) => ok(r).message);
    expect(one?.id).toBe(two?.id);
    const page = await alice.api.get<MessagePage>(`/chats/${chat.id}/messages`);
    expect(page.body.messages.map((m) => m.client_message_id)).toEqual(['m-1', 'm-2']);
  });

  it('a deleted message deletes its files', async () => {
    const [alice, bob] = await registerUsers(server.url, 2);
    const chat = await createDirect(alice, bob);
    const img = await httpUpload(alice, chat.id, await png(50, 50), 'gone.png');
    const doc = await httpUpload(alice, chat.id, randomBytes(1000), 'gone.bin');
    const sent = await alice.api.post<Message>(`/chats/${chat.id}/messages`, {
      content: 'two files',
      attachmentIds: [img.id, doc.id],
    });
    const mine = async () =>
      (await filesOf(server)).filter((f) => f.includes(img.id) || f.includes(doc.id));
    expect((await mine()).sort()).toEqual(
      [
        `${img.id.slice(0, 2)}/${img.id}`,
        `${img.id.slice(0, 2)}/${img.id}.thumb`,
        `${doc.id.slice(0, 2)}/${doc.id}`,
      ].sort(),
    );
    expect((await alice.api.delete(`/chats/${chat.id}/messages/${sent.body.id}`)).status).toBe(204);
    expect(await mine()).toEqual([]);
    expect((await get(img.url)).status).toBe(404);
    expect((await get(img.thumbnail_url ?? '')).status).toBe(404);
    expect((await get(unsigned(doc.url), alice.token)).status).toBe(404);
    const page = await bob.api.get<MessagePage>(`/chats/${chat.id}/messages`);
    expect(page.body.messages.at(-1)).toMatchObject({ content: '', attachments: [] });
  });
});

describe('sweeps', () => {
  it('deletes uploads unfinished after an hour and attachments unsent after a day, rows and files', async () => {
    const [alice, bob] = await registerUsers(server.url, 2);
    const chat = await createDirect(alice, bob);
    const s = await connect(server.url, alice.token);
    const bytes = randomBytes(3 * CHUNK);
    const { uploadId } = ok(
      await start(s, {
        chatId: chat.id,
        name: 'slow.bin',
        size: bytes.length,
        mime: 'application/octet-stream',
      }),
    );
    await sendChunks(s, uploadId, bytes, 0, CHUNK);
    const unsent = await httpUpload(alice, chat.id, await png(8, 8), 'later.png');
    const kept = await httpUpload(alice, chat.id, Buffer.from('kept'), 'kept.txt');
    ok(await sendMessage(s, { chatId: chat.id, content: '', attachmentIds: [kept.id] }));
    const ours = async () =>
      (await filesOf(server)).filter((f) =>
        [uploadId, unsent.id, kept.id].some((id) => f.includes(id)),
      );
    expect(await ours()).toHaveLength(4); // the .part, the image and its thumbnail, the sent file

    const uploads = server.app.services.uploads;
    // Just under an hour: nothing goes.
    await uploads.sweep(new Date(Date.now() + 59 * 60_000));
    expect(ok(await status(s, uploadId)).received).toBe(CHUNK);
    // Past an hour: the unfinished upload goes, bytes and all; the finished one stays.
    await uploads.sweep(new Date(Date.now() + 61 * 60_000));
    expect(code(await status(s, uploadId))).toBe('not_found');
    expect(
      code(await chunk(s, { uploadId, offset: CHUNK, data: bytes.subarray(CHUNK, 2 * CHUNK) })),
    ).toBe('not_found');
    expect((await get(unsent.url)).status).toBe(200);
    // Past a day: the unsent one goes too; the one in a message stays.
    await uploads.sweep(new Date(Date.now() + 25 * 3600_000));
    expect((await get(unsent.url)).status).toBe(404);
    expect(
      code(await sendMessage(s, { chatId: chat.id, content: '', attachmentIds: [unsent.id] })),
    ).toBe('validation_failed');
    expect((await get(kept.url)).status).toBe(200);
    expect(await ours()).toEqual([`${kept.id.slice(0, 2)}/${kept.id}`]);
  });
});
