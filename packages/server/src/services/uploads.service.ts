import path from 'node:path';
import {
  fileName,
  mediaType,
  UPLOAD_CHUNK_MAX,
  type Attachment,
  type UploadStartPayload,
} from '@parley/protocol';
import type { Logger } from 'pino';
import { AppError, notFound, payloadTooLarge, validationFailed } from '../errors.js';
import { inspect } from '../media/images.js';
import type {
  AttachmentsRepository,
  Discarded,
  UploadRow,
} from '../repositories/attachments.repository.js';
import { asAttachmentViewer, assertUploader, type AccessPolicy } from './access.js';
import type { RateLimiter, UploadStorage } from './ports.js';
import type { UploadLinks, Variant } from './upload-links.js';

/** An upload not finished within this is deleted. */
export const UNFINISHED_TTL_MS = 3600_000;
/** An attachment not sent in a message within this is deleted. */
export const UNSENT_TTL_MS = 24 * 3600_000;
/** Rows a sweep takes per transaction. */
const SWEEP_BATCH = 100;
/** Uploads whose fixed facts this process remembers, so that a chunk costs no query. */
const KNOWN_UPLOADS_MAX = 10_000;

/** What every chunk needs to know of its upload; none of it changes while bytes come. */
interface UploadFacts {
  uploaderId: string;
  size: number;
  key: string;
}

/** An attachment's bytes, for an answer: the stream is opened by the caller, ranges and all. */
export interface Served {
  name: string;
  /** The served type: the image's own, else application/octet-stream. */
  mime: string;
  inline: boolean;
  size: number;
  read: (range?: { start: number; end: number }) => NodeJS.ReadableStream;
}

/** A file part of `POST /api/uploads`, its bytes still to be read. */
export interface IncomingFile {
  filename: string;
  mimetype: string;
  stream: NodeJS.ReadableStream;
}

/**
 * A POST's file taken before its chat was named: whole in the storage's temporary object under a
 * key of its own, with no row yet (a row needs its chat). `uploadHeld` makes it an attachment
 * once the chat is known, or deletes it; `release` deletes it when no chat comes.
 */
export interface HeldFile {
  readonly id: string;
  readonly storageKey: string;
  readonly name: string;
  readonly mime: string;
  readonly size: number;
}

/** The media type kept for a file: what the client said, unless it claimed an image it is not. */
function fileMime(declared: string): string {
  const base = declared.split(';')[0]?.trim().toLowerCase() ?? '';
  return base === '' || base.startsWith('image/') ? 'application/octet-stream' : base;
}

/**
 * The name and type a POST's file part declares, refused as upload:start's would be. Some clients
 * send a path: the name is its last part.
 */
function declaredOf(file: IncomingFile): { name: string; mime: string } {
  const name = fileName().safeParse(path.win32.basename(file.filename));
  if (!name.success) {
    throw validationFailed(`file: ${name.error.issues[0]?.message ?? 'bad file name'}`);
  }
  const mime = mediaType().safeParse(file.mimetype);
  if (!mime.success) {
    throw validationFailed(`file: Content-Type ${mime.error.issues[0]?.message ?? 'is malformed'}`);
  }
  return { name: name.data, mime: mime.data };
}

const receivedConflict = (received: number) =>
  new AppError('conflict', `the upload has ${received} bytes; go on from there`, { received });

/**
 * Uploads and the attachments they become: the socket's upload:* events and POST /api/uploads
 * alike. The row in the database says who uploads what to which chat; the storage's temporary
 * object says how much has come (see UploadStorage), so any process can take the next chunk.
 */
export class UploadsService {
  /**
   * Facts of uploads, or their lookup under way: chunks sent back to back share one lookup, and
   * so reach the storage's queue in the order they came.
   */
  private readonly known = new Map<string, Promise<UploadFacts>>();

  constructor(
    private readonly attachments: AttachmentsRepository,
    private readonly storage: UploadStorage,
    private readonly access: AccessPolicy,
    /** RATE_LIMIT_MESSAGES: an upload counts as a send does. */
    private readonly limiter: RateLimiter,
    private readonly links: UploadLinks,
    private readonly maxBytes: number,
    private readonly log: Logger,
  ) {}

  /** `upload:start`: participants, within MAX_UPLOAD_BYTES. */
  async start(
    userId: string,
    input: UploadStartPayload,
  ): Promise<{ uploadId: string; chunkSize: number }> {
    await this.access.participant(input.chatId, userId);
    if (input.size > this.maxBytes) throw payloadTooLarge(this.maxBytes);
    await this.limiter.consume(userId);
    const row = await this.attachments.start({
      uploaderId: userId,
      chatId: input.chatId,
      name: input.name,
      size: input.size,
      mime: input.mime,
    });
    await this.storage.create(row.storage_key);
    this.remember(
      row.id,
      Promise.resolve({ uploaderId: userId, size: input.size, key: row.storage_key }),
    );
    return { uploadId: row.id, chunkSize: UPLOAD_CHUNK_MAX };
  }

  /** `upload:chunk`: appends at `offset`, which must be what was received (else conflict). */
  async chunk(userId: string, uploadId: string, offset: number, data: Uint8Array): Promise<number> {
    const facts = await this.facts(userId, uploadId);
    if (offset + data.byteLength > facts.size) {
      throw validationFailed(`the upload was declared as ${facts.size} bytes`);
    }
    const result = await this.storage.append(facts.key, offset, data);
    if (result.status === 'appended') return result.received;
    if (result.status === 'conflict') throw receivedConflict(result.received);
    // No temporary file: finished (then everything was received), or swept.
    throw receivedConflict(await this.finishedSize(uploadId));
  }

  /** `upload:status`: what was received, to resume from. */
  async status(userId: string, uploadId: string): Promise<number> {
    const facts = await this.facts(userId, uploadId);
    return (await this.storage.size(facts.key, true)) ?? (await this.finishedSize(uploadId));
  }

  /** `upload:finish`: every byte is there; the attachment it makes. Finishing twice is fine. */
  async finish(userId: string, uploadId: string): Promise<Attachment> {
    const row = await this.attachments.find(uploadId);
    if (!row || row.discarded_at) throw notFound('upload');
    assertUploader(row.uploader_id, userId);
    if (row.completed_at) return this.wire(row);
    return this.storage.exclusive(row.storage_key, async () => {
      const received = await this.storage.size(row.storage_key, true);
      if (received !== undefined && received !== row.size) throw receivedConflict(received);
      return this.complete(row, row.size ?? 0);
    });
  }

  /**
   * `POST /api/uploads`: the file's bytes streamed to storage as they come (never held whole),
   * stopped past MAX_UPLOAD_BYTES with payload_too_large.
   */
  async upload(userId: string, chatId: string, file: IncomingFile): Promise<Attachment> {
    const declared = declaredOf(file);
    await this.access.participant(chatId, userId);
    await this.limiter.consume(userId);
    const row = await this.attachments.start({
      uploaderId: userId,
      chatId,
      ...declared,
      size: null,
    });
    let size: number;
    try {
      size = await this.storage.write(row.storage_key, file.stream, this.maxBytes);
      if (size === 0) throw validationFailed('file: the file is empty');
    } catch (err) {
      await this.drop([row]);
      throw err;
    }
    return this.complete(row, size);
  }

  /**
   * `POST /api/uploads` whose file comes before its chatId: the bytes stream to the storage's
   * temporary object as `upload` writes them (the same limit, never held whole), under a key
   * reserved for the row that `uploadHeld` writes once the chat is known. A malformed file
   * (a bad name or type, no bytes) is refused here, before any chat: the contract's order.
   * Refusals and broken bodies leave nothing; a process that dies while it holds a file leaves
   * that temporary file with no row, where the sweep (which goes by rows) does not look.
   */
  async hold(file: IncomingFile): Promise<HeldFile> {
    const declared = declaredOf(file);
    const { id, storage_key: storageKey } = this.attachments.reserve();
    // On failure (past the limit, a stream that broke) the write removes what it wrote.
    const size = await this.storage.write(storageKey, file.stream, this.maxBytes);
    const held = { id, storageKey, ...declared, size };
    if (size === 0) {
      await this.release(held);
      throw validationFailed('file: the file is empty');
    }
    return held;
  }

  /**
   * The held file as an attachment of the chat, by `upload`'s rules in `upload`'s order. Refused
   * (or failing before its row is written), it is deleted; once the row is there, an attachment
   * left unfinished is the sweep's, as any upload's.
   */
  async uploadHeld(userId: string, chatId: string, held: HeldFile): Promise<Attachment> {
    let row: UploadRow;
    try {
      await this.access.participant(chatId, userId);
      await this.limiter.consume(userId);
      row = await this.attachments.start(
        { uploaderId: userId, chatId, name: held.name, size: null, mime: held.mime },
        { id: held.id, storage_key: held.storageKey },
      );
    } catch (err) {
      await this.release(held);
      throw err;
    }
    return this.complete(row, held.size);
  }

  /** A held file no chat came for (the body ended, or broke, without chatId): its bytes go. */
  async release(held: HeldFile): Promise<void> {
    await this.storage.delete([held.storageKey]);
  }

  /**
   * Bytes to serve: to anyone with a valid signature for them, else to the uploader and the
   * participants of the chat whose message holds it. Anyone else: not_found, as for nothing.
   */
  async open(
    attachmentId: string,
    variant: Variant,
    viewer: { userId: string | null; exp?: string | undefined; sig?: string | undefined },
  ): Promise<Served> {
    const signed = this.links.verify(attachmentId, variant, viewer.exp, viewer.sig);
    const row = asAttachmentViewer(
      await this.attachments.withViewer(attachmentId, viewer.userId),
      viewer.userId,
      signed,
    );
    const image = row.kind === 'image';
    if (variant === 'thumbnail') {
      const key = row.thumbnail_key;
      const size = key ? await this.storage.size(key) : undefined;
      if (!key || size === undefined) throw notFound('attachment');
      return {
        name: row.name.replace(/(\.[^.]*)?$/, '.webp'),
        mime: 'image/webp',
        inline: true,
        size,
        read: (range) => this.storage.read(key, range),
      };
    }
    return {
      name: row.name,
      mime: image ? row.mime : 'application/octet-stream',
      inline: image,
      size: row.size ?? 0,
      read: (range) => this.storage.read(row.storage_key, range),
    };
  }

  /**
   * Deletes unfinished uploads an hour old, attachments unsent a day after their upload began,
   * and what a deleted message left (its files, then rows). Safe to run in every process at once.
   */
  async sweep(now = new Date()): Promise<number> {
    const cutoffs = {
      unfinishedBefore: new Date(now.getTime() - UNFINISHED_TTL_MS),
      unsentBefore: new Date(now.getTime() - UNSENT_TTL_MS),
    };
    let total = 0;
    for (;;) {
      const n = await this.attachments.sweep(cutoffs, SWEEP_BATCH, (rows) => this.dropFiles(rows));
      total += n;
      if (n < SWEEP_BATCH) return total;
    }
  }

  /** A deleted message's attachments (marked discarded in its transaction): files, then rows. */
  async discard(rows: readonly Discarded[]): Promise<void> {
    if (rows.length === 0) return;
    try {
      await this.drop(rows);
    } catch (err) {
      // The sweep finds the marked rows and finishes the job.
      this.log.warn({ err }, 'deleting attachment files failed; the sweep will retry');
    }
  }

  private async drop(rows: readonly Discarded[]): Promise<void> {
    await this.dropFiles(rows);
    await this.attachments.remove(rows.map((r) => r.id));
  }

  private async dropFiles(rows: readonly Discarded[]): Promise<void> {
    for (const r of rows) this.known.delete(r.id);
    await this.storage.delete(
      rows.flatMap((r) => [r.storage_key, r.thumbnail_key ?? `${r.storage_key}.thumb`]),
    );
  }

  /**
   * Reads what the bytes are (a thumbnail for an image), then makes the files durable under their
   * keys, then the row complete. A finish that died after the rename is finished again from the
   * file under its key; a racing finish of the same upload finds the row complete.
   */
  private async complete(row: UploadRow, size: number): Promise<Attachment> {
    const key = row.storage_key;
    const temporary = (await this.storage.size(key, true)) !== undefined;
    if (!temporary && (await this.storage.size(key)) === undefined) throw notFound('upload');
    const thumbnailKey = `${key}.thumb`;
    const facts = await inspect(
      this.storage.file(key, temporary),
      this.storage.file(thumbnailKey, true),
      (err) =>
        this.log.error(
          { err },
          'sharp cannot be loaded: images are kept as files, without thumbnails',
        ),
    );
    if (facts.kind === 'image') await this.storage.commit(thumbnailKey);
    if (temporary) await this.storage.commit(key);
    const done = await this.attachments.complete(row.id, {
      size,
      ...(facts.kind === 'image'
        ? { ...facts, thumbnailKey }
        : {
            kind: 'file',
            mime: fileMime(row.mime),
            width: null,
            height: null,
            thumbnailKey: null,
          }),
    });
    this.known.delete(row.id);
    const now = done ?? (await this.attachments.find(row.id));
    if (!now?.completed_at) throw notFound('upload');
    return this.wire(now);
  }

  private wire(row: UploadRow): Attachment {
    return this.links.attachment({
      id: row.id,
      name: row.name,
      size: row.size ?? 0,
      mime: row.mime,
      kind: row.kind ?? 'file',
      width: row.width,
      height: row.height,
      thumbnail: row.thumbnail_key !== null,
    });
  }

  /** An upload of this user still receiving bytes; not_found for anyone else's. */
  private async facts(userId: string, uploadId: string): Promise<UploadFacts> {
    let lookup = this.known.get(uploadId);
    if (!lookup) {
      lookup = this.attachments.find(uploadId).then((row) => {
        if (!row || row.discarded_at || row.size === null) throw notFound('upload');
        return { uploaderId: row.uploader_id, size: row.size, key: row.storage_key };
      });
      this.remember(uploadId, lookup);
      lookup.catch(() => this.known.delete(uploadId));
    }
    const facts = await lookup;
    assertUploader(facts.uploaderId, userId);
    return facts;
  }

  /** What a finished upload holds; not_found when it is gone (swept). */
  private async finishedSize(uploadId: string): Promise<number> {
    this.known.delete(uploadId);
    const row = await this.attachments.find(uploadId);
    if (!row?.completed_at || row.size === null) throw notFound('upload');
    return row.size;
  }

  private remember(uploadId: string, facts: Promise<UploadFacts>): void {
    if (this.known.size >= KNOWN_UPLOADS_MAX) {
      const oldest = this.known.keys().next();
      if (!oldest.done) this.known.delete(oldest.value);
    }
    this.known.set(uploadId, facts);
  }
}
