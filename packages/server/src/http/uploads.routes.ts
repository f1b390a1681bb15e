import fastifyMultipart, { type Multipart, type MultipartFile } from '@fastify/multipart';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import {
  AttachmentParams,
  AttachmentQuery,
  id,
  UPLOAD_CHUNK_MAX,
  UploadLimits,
  UploadResponse,
} from '@parley/protocol';
import { z } from 'zod';
import { AppError, payloadTooLarge, validationFailed } from '../errors.js';
import type { Services } from '../services/index.js';
import type { HeldFile, Served } from '../services/uploads.service.js';
import type { Variant } from '../services/upload-links.js';
import { currentUser, requireUser } from './auth-hook.js';
import { errorResponses } from './schemas.js';

/** Room for the multipart envelope around a file of MAX_UPLOAD_BYTES (boundaries, headers, chatId). */
const ENVELOPE_BYTES = 64 * 1024;

/**
 * Every answer about uploads, errors included: nothing here is a page. No script, style, frame
 * or plugin of an uploaded file runs, even opened directly (the sandbox gives it an opaque
 * origin), and no browser guesses a type we did not give.
 */
const UPLOAD_CSP = "default-src 'none'; sandbox";

export const uploadRoutes: FastifyPluginAsyncZod<{
  services: Services;
  maxUploadBytes: number;
}> = async (app, { services, maxUploadBytes }) => {
  const { uploads } = services;
  await app.register(fastifyMultipart, {
    // One file and a few small fields. The file's limit is one byte above the largest allowed,
    // so that the storage's own count (which streams) says payload_too_large first.
    limits: { files: 1, fields: 4, fieldSize: 1024, parts: 8, fileSize: maxUploadBytes + 1 },
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    void reply.header('content-security-policy', UPLOAD_CSP);
    void reply.header('x-content-type-options', 'nosniff');
    return payload;
  });

  // A client says the limit before a file is chosen, rather than after a refusal.
  app.get(
    '/uploads/limits',
    {
      onRequest: requireUser(services.auth),
      schema: {
        summary: 'What may be uploaded: MAX_UPLOAD_BYTES and the chunk size upload:start offers',
        response: { 200: UploadLimits, ...errorResponses },
      },
    },
    () => ({ max_bytes: maxUploadBytes, chunk_size: UPLOAD_CHUNK_MAX }),
  );

  app.post(
    '/uploads',
    {
      onRequest: requireUser(services.auth),
      schema: {
        summary:
          'Upload a file: multipart/form-data with the fields chatId and file, in either order (streamed to storage; 413 past MAX_UPLOAD_BYTES)',
        consumes: ['multipart/form-data'],
        // For the OpenAPI document only: the parts are read (and checked) as they stream.
        body: z.object({
          chatId: id(),
          file: z.string().meta({
            format: 'binary',
            description: 'the file; best after chatId, so that a refused chat costs no upload',
          }),
        }),
        response: { 201: UploadResponse, ...errorResponses },
      },
      validatorCompiler: () => () => true,
    },
    async (request, reply) => {
      // A body that says it is too large is refused before a byte of it is read.
      const declared = Number(request.headers['content-length'] ?? 0);
      if (declared > maxUploadBytes + ENVELOPE_BYTES) throw payloadTooLarge(maxUploadBytes);
      if (!request.isMultipart()) {
        throw validationFailed('send multipart/form-data with the fields chatId and file');
      }
      try {
        return await receive(request, reply);
      } catch (err) {
        releaseBody(request, reply);
        throw err;
      }
    },
  );

  /**
   * The multipart parts, in either order; the file streams to the upload service as it comes.
   * chatId first: the chat is checked before the file's bytes are taken, so that a refusal costs
   * no upload. The file first: it is held in the upload storage until chatId comes (the parser
   * gives the next part only once the file is read), then attached or refused and deleted; a
   * body that ends or breaks before chatId deletes it too.
   */
  async function receive(request: FastifyRequest, reply: FastifyReply) {
    const userId = currentUser(request).id;
    let chatId: string | undefined;
    let held: HeldFile | undefined;
    let parts: AsyncIterator<Multipart>;
    try {
      parts = request.parts()[Symbol.asyncIterator]();
    } catch (err) {
      throw malformed(err);
    }
    try {
      for (;;) {
        let next: IteratorResult<Multipart>;
        try {
          next = await parts.next();
        } catch (err) {
          throw malformed(err);
        }
        if (next.done) break;
        const part = next.value;
        if (part.type === 'field') {
          if (part.fieldname !== 'chatId') continue;
          const parsed = id().safeParse(part.value);
          if (!parsed.success) throw validationFailed('chatId: must be a UUID');
          chatId = parsed.data;
          if (!held) continue;
          // uploadHeld owns the file from here: it deletes it if it refuses.
          const file = held;
          held = undefined;
          return reply
            .status(201)
            .send({ attachment: await uploads.uploadHeld(userId, chatId, file) });
        }
        if (part.fieldname !== 'file') {
          throw validationFailed(`unexpected file field ${part.fieldname}`);
        }
        const file = { filename: part.filename, mimetype: part.mimetype, stream: part.file };
        if (chatId) {
          const chat = chatId;
          const attachment = await fromFile(part, () => uploads.upload(userId, chat, file));
          return reply.status(201).send({ attachment });
        }
        held = await fromFile(part, () => uploads.hold(file));
      }
      throw validationFailed(
        held ? 'chatId: required' : chatId ? 'file: required' : 'chatId and file are required',
      );
    } finally {
      if (held) await uploads.release(held);
    }
  }

  for (const [path, variant, summary] of [
    [
      '/uploads/:attachmentId',
      'original',
      "An attachment's bytes: with the URL's exp and sig, or the Authorization header (uploader, participants of its message's chat); anyone else 404. Ranges answer 206",
    ],
    [
      '/uploads/:attachmentId/thumbnail',
      'thumbnail',
      "An image attachment's thumbnail (WebP, at most 320 px a side, no metadata), as the original is served",
    ],
  ] as const) {
    app.get(
      path,
      {
        schema: {
          summary,
          params: AttachmentParams,
          querystring: AttachmentQuery,
          response: {
            200: z.any().describe('the bytes'),
            206: z.any().describe('the bytes of the range asked for'),
            ...errorResponses,
          },
        },
      },
      async (request, reply) => {
        const served = await uploads.open(request.params.attachmentId, variant, {
          userId: await bearerUser(services, request),
          exp: request.query.exp,
          sig: request.query.sig,
        });
        return serve(request, reply, served, etagOf(request.params.attachmentId, variant), {
          signedFor: request.query.exp ? Number(request.query.exp) * 1000 - Date.now() : 0,
        });
      },
    );
  }
};

/**
 * A refusal answered before the body was read: the rest of it is read and dropped, so that the
 * client, still sending, gets to read the answer and its connection serves the next request
 * (the multipart parser stopped reading, and an unread body would hold the connection up). A
 * body of no declared length could go on forever: that connection is closed after the answer.
 */
function releaseBody(request: FastifyRequest, reply: FastifyReply): void {
  request.raw.unpipe();
  request.raw.resume();
  if (request.headers['content-length'] === undefined) void reply.header('connection', 'close');
}

/** The caller named by a valid Authorization header, else null: a bad token is no one, not 401. */
async function bearerUser(services: Services, request: FastifyRequest): Promise<string | null> {
  const token = request.headers.authorization?.match(/^Bearer\s+(\S+)$/i)?.[1];
  if (!token) return null;
  try {
    return (await services.auth.session(token)).user.id;
  } catch {
    return null;
  }
}

const etagOf = (attachmentId: string, variant: Variant) => `"${attachmentId}-${variant}"`;

/**
 * RFC 6266: an ASCII `filename` for old clients (anything else, quotes and backslashes as `_`),
 * and the real name as `filename*` in UTF-8.
 */
export function contentDisposition(type: 'inline' | 'attachment', name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\%]/g, '_');
  const encoded = encodeURIComponent(name).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `${type}; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

/**
 * One range of `bytes=a-b`, `a-` or `-n`, clipped to the size; `unsatisfiable` when it starts
 * past the end; undefined for no range, several, or one malformed (the whole file is then sent,
 * as RFC 9110 allows).
 */
export function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | 'unsatisfiable' | undefined {
  const m = header?.match(/^bytes=(\d*)-(\d*)$/);
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== '' && Number(m[2]) < start) return undefined;
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}

function serve(
  request: FastifyRequest,
  reply: FastifyReply,
  served: Served,
  etag: string,
  { signedFor }: { signedFor: number },
) {
  void reply
    .header('content-type', served.mime)
    .header(
      'content-disposition',
      contentDisposition(served.inline ? 'inline' : 'attachment', served.name),
    )
    .header('accept-ranges', 'bytes')
    .header('etag', etag)
    // The bytes never change; who may fetch them can. A signed URL is good until it expires,
    // a fetch with a token is asked again every time.
    .header(
      'cache-control',
      signedFor > 0
        ? `private, max-age=${Math.min(86_400, Math.floor(signedFor / 1000))}`
        : 'private, no-cache',
    );
  if (request.headers['if-none-match'] === etag) return reply.status(304).send();
  const range = parseRange(request.headers.range, served.size);
  if (range === 'unsatisfiable') {
    return reply
      .status(416)
      .header('content-range', `bytes */${served.size}`)
      .header('content-type', 'application/json; charset=utf-8')
      .send({
        error: { code: 'validation_failed', message: `the range is outside ${served.size} bytes` },
      });
  }
  if (range) {
    return reply
      .status(206)
      .header('content-range', `bytes ${range.start}-${range.end}/${served.size}`)
      .header('content-length', range.end - range.start + 1)
      .send(served.read(range));
  }
  return reply.header('content-length', served.size).send(served.read());
}

/**
 * What the multipart parser throws, while it reads the parts or the file's bytes, says the body
 * was malformed (no boundary, one too long, cut short before the closing one): those errors carry
 * no code, unlike @fastify/multipart's limits (`FST_*`, http/errors.ts), so they are told apart
 * from a failure of ours by where they come from.
 */
function malformed(err: unknown): unknown {
  if (err instanceof AppError || hasCode(err) || !(err instanceof Error)) return err;
  return validationFailed(`malformed multipart body: ${err.message}`);
}

/**
 * `take` reading the file part's stream. A stream that broke fails it with whatever error the
 * writer then meets (a premature close, say): the break is the answer, as a malformed body.
 */
async function fromFile<T>(part: MultipartFile, take: () => Promise<T>): Promise<T> {
  let broken: Error | undefined;
  part.file.once('error', (err) => (broken ??= err));
  try {
    return await take();
  } catch (err) {
    // Broken before this listened (the whole body had arrived), or while it wrote.
    const cause = broken ?? part.file.errored;
    throw cause ? malformed(cause) : err;
  }
}

/** A Fastify or @fastify/multipart error (`FST_*`), mapped by code in http/errors.ts. */
const hasCode = (err: unknown): boolean =>
  typeof (err as { code?: unknown } | null)?.code === 'string';
