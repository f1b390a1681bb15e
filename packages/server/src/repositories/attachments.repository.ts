import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { DB } from '../db/schema.js';
import type { AttachmentRecord } from './mappers.js';

/** An upload's row, as the upload service reads it. */
export interface UploadRow {
  id: string;
  uploader_id: string;
  chat_id: string;
  message_id: string | null;
  name: string;
  size: number | null;
  mime: string;
  kind: 'image' | 'file' | null;
  width: number | null;
  height: number | null;
  storage_key: string;
  thumbnail_key: string | null;
  completed_at: Date | null;
  discarded_at: Date | null;
}

/** The files of rows that are going. */
export interface Discarded {
  id: string;
  storage_key: string;
  thumbnail_key: string | null;
}

const UPLOAD_COLUMNS = [
  'a.id',
  'a.uploader_id',
  'a.chat_id',
  'a.message_id',
  // Guarded as messages' text is (see GUARDED_TEXT): PGlite drops a leading U+FEFF.
  sql<string>`'.' || a.name`.as('name'),
  'a.size',
  'a.mime',
  'a.kind',
  'a.width',
  'a.height',
  'a.storage_key',
  'a.thumbnail_key',
  'a.completed_at',
  'a.discarded_at',
] as const;

const unguard = <T extends { name: string }>(row: T): T => ({ ...row, name: row.name.slice(1) });

/** Where an attachment's bytes live: two hex digits of fan-out keep directories small. */
const storageKeyOf = (id: string) => `${id.slice(0, 2)}/${id}`;

/** Uploads and attachments: the `attachments` table. */
export class AttachmentsRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /**
   * An id and its storage key, for bytes that arrive before the row can be written (a POST whose
   * file comes before its chatId: a row needs its chat). `start` then records it.
   */
  reserve(): { id: string; storage_key: string } {
    const id = randomUUID();
    return { id, storage_key: storageKeyOf(id) };
  }

  /** Records an upload that begins; `size` is null when it is counted at the end (HTTP). */
  async start(
    u: {
      uploaderId: string;
      chatId: string;
      name: string;
      size: number | null;
      mime: string;
    },
    { id, storage_key } = this.reserve(),
  ): Promise<UploadRow> {
    await this.db
      .insertInto('attachments')
      .values({
        id,
        uploader_id: u.uploaderId,
        chat_id: u.chatId,
        name: u.name,
        size: u.size,
        mime: u.mime,
        storage_key,
      })
      .execute();
    return {
      id,
      uploader_id: u.uploaderId,
      chat_id: u.chatId,
      message_id: null,
      name: u.name,
      size: u.size,
      mime: u.mime,
      kind: null,
      width: null,
      height: null,
      storage_key,
      thumbnail_key: null,
      completed_at: null,
      discarded_at: null,
    };
  }

  async find(id: string): Promise<UploadRow | undefined> {
    const row = await this.db
      .selectFrom('attachments as a')
      .select(UPLOAD_COLUMNS)
      .where('a.id', '=', id)
      .executeTakeFirst();
    return row && unguard(row);
  }

  /**
   * The attachment, and whether `userId` is a participant now of the chat it was uploaded to
   * (who may see it is access.ts's asAttachmentViewer). Undefined unless it is complete and not
   * discarded.
   */
  async withViewer(
    id: string,
    userId: string | null,
  ): Promise<(UploadRow & { viewer_in_chat: boolean }) | undefined> {
    const row = await this.db
      .selectFrom('attachments as a')
      .select([
        ...UPLOAD_COLUMNS,
        sql<boolean>`EXISTS (SELECT 1 FROM chat_participants p
          WHERE p.chat_id = a.chat_id AND p.user_id = ${userId}::uuid)`.as('viewer_in_chat'),
      ])
      .where('a.id', '=', id)
      .where('a.completed_at', 'is not', null)
      .where('a.discarded_at', 'is', null)
      .executeTakeFirst();
    return row && unguard(row);
  }

  /** Marks a finished upload with what its bytes are; undefined when it was finished already. */
  async complete(
    id: string,
    facts: {
      size: number;
      mime: string;
      kind: 'image' | 'file';
      width: number | null;
      height: number | null;
      thumbnailKey: string | null;
    },
  ): Promise<UploadRow | undefined> {
    const row = await this.db
      .updateTable('attachments as a')
      .set({
        size: facts.size,
        mime: facts.mime,
        kind: facts.kind,
        width: facts.width,
        height: facts.height,
        thumbnail_key: facts.thumbnailKey,
        completed_at: sql`clock_timestamp()`,
      })
      .where('a.id', '=', id)
      .where('a.completed_at', 'is', null)
      .returning(UPLOAD_COLUMNS)
      .executeTakeFirst();
    return row && unguard(row);
  }

  /** How many of `ids` the sender may attach to a message in the chat now. */
  async claimable(ids: readonly string[], uploaderId: string, chatId: string): Promise<number> {
    const row = await this.db
      .selectFrom('attachments')
      .select(sql<number>`count(*)::int`.as('n'))
      .where('id', 'in', [...ids])
      .where('uploader_id', '=', uploaderId)
      .where('chat_id', '=', chatId)
      .where('message_id', 'is', null)
      .where('completed_at', 'is not', null)
      .where('discarded_at', 'is', null)
      .executeTakeFirstOrThrow();
    return row.n;
  }

  /** Removes rows whose files are gone. */
  async remove(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.db
      .deleteFrom('attachments')
      .where('id', 'in', [...ids])
      .execute();
  }

  /**
   * One batch of the sweep, in a transaction: rows discarded with their message, uploads
   * unfinished since before `unfinishedBefore`, and attachments unsent since before
   * `unsentBefore`. `dropFiles` removes their files while the rows are locked (a send or a finish
   * of one of them waits, then finds nothing), then the rows go. SKIP LOCKED: processes sweeping
   * at once take different rows. Returns how many rows went.
   */
  async sweep(
    cutoffs: { unfinishedBefore: Date; unsentBefore: Date },
    limit: number,
    dropFiles: (rows: Discarded[]) => Promise<void>,
  ): Promise<number> {
    return this.db.transaction().execute(async (tx) => {
      const { rows } = await sql<Discarded>`
        SELECT id, storage_key, thumbnail_key FROM attachments
        WHERE discarded_at IS NOT NULL
          OR (message_id IS NULL AND completed_at IS NULL AND created_at < ${cutoffs.unfinishedBefore})
          OR (message_id IS NULL AND created_at < ${cutoffs.unsentBefore})
        LIMIT ${limit}
        FOR UPDATE SKIP LOCKED`.execute(tx);
      if (rows.length === 0) return 0;
      await dropFiles(rows);
      await tx
        .deleteFrom('attachments')
        .where(
          'id',
          'in',
          rows.map((r) => r.id),
        )
        .execute();
      return rows.length;
    });
  }
}

/**
 * An attachment row of the table (or CTE) named `t` as the JSON object an AttachmentRecord is
 * read from: the one spelling for the send's answer and every read of messages.
 */
export const attachmentJson = (t: string) => {
  const c = (column: string) => sql.ref(`${t}.${column}`);
  return sql`json_build_object('id', ${c('id')}, 'name', ${c('name')}, 'size', ${c('size')},
    'mime', ${c('mime')}, 'kind', ${c('kind')}, 'width', ${c('width')}, 'height', ${c('height')},
    'thumbnail', ${c('thumbnail_key')} IS NOT NULL)`;
};

/**
 * The attachments of the message `m`, in the order the send named them: one index lookup per
 * message inside the reading statement, never a query per message.
 */
export const ATTACHMENTS = sql<AttachmentRecord[]>`(
  SELECT coalesce(json_agg(${attachmentJson('a')} ORDER BY a.position), '[]'::json)
  FROM attachments a WHERE a.message_id = m.id AND a.discarded_at IS NULL)`.as('attachments');
