import { z } from 'zod';
import { Attachment } from '../models/message.js';
import { fileName, id, text } from '../primitives.js';

/**
 * The largest chunk a client may send, and the one `upload:start` offers: 32 KiB of binary is
 * about 43 KiB once base64'd for the polling transport, so every frame stays under 64 KiB.
 */
export const UPLOAD_CHUNK_MAX = 32 * 1024;

/**
 * A media type as `type/subtype`, parameters allowed; what a browser's `File.type` holds, and what
 * a multipart file part's Content-Type must be. `text`, as the parameters may hold anything else:
 * U+0000 there would reach PostgreSQL.
 */
export const mediaType = () =>
  text(1, 255).regex(
    /^[\w!#$&^.+-]+\/[\w!#$&^.+-]+(\s*;.*)?$/,
    'must be a media type such as image/png',
  );

export const UploadStartPayload = z.object({
  chatId: id(),
  name: fileName(),
  /** Bytes; at most MAX_UPLOAD_BYTES, else payload_too_large. */
  size: z.number().int().min(1),
  /** What the client thinks it is (an empty File.type: send application/octet-stream). */
  mime: mediaType(),
});
export type UploadStartPayload = z.infer<typeof UploadStartPayload>;

/** Binary, as socket.io delivers it: a Buffer on Node, an ArrayBuffer or a typed array in a browser. */
const binary = () =>
  z
    .custom<Uint8Array | ArrayBuffer>(
      (v) => v instanceof Uint8Array || v instanceof ArrayBuffer,
      'must be binary (an ArrayBuffer or a Uint8Array)',
    )
    .transform((v) => (v instanceof Uint8Array ? v : new Uint8Array(v)))
    .refine((v) => v.byteLength >= 1 && v.byteLength <= UPLOAD_CHUNK_MAX, {
      message: `must hold 1 to ${UPLOAD_CHUNK_MAX} bytes`,
    });

export const UploadChunkPayload = z.object({
  uploadId: id(),
  /** Must equal the bytes received so far (else conflict, with `received` in the ack). */
  offset: z.number().int().min(0),
  data: binary(),
});
export type UploadChunkPayload = z.input<typeof UploadChunkPayload>;

export const UploadRef = z.object({ uploadId: id() });
export type UploadRef = z.infer<typeof UploadRef>;

export interface UploadStartAck {
  uploadId: string;
  /** The size of chunk to send: at most UPLOAD_CHUNK_MAX. */
  chunkSize: number;
}
export interface UploadChunkAck {
  /** Bytes received so far: the next chunk's offset. */
  received: number;
}
export interface UploadFinishAck {
  attachment: Attachment;
}

/** `GET /api/uploads/limits`: what a client may upload, to say so before anyone tries. */
export const UploadLimits = z.object({
  /** MAX_UPLOAD_BYTES: the largest attachment, in bytes. */
  max_bytes: z.number().int(),
  /** The chunk size `upload:start` offers. */
  chunk_size: z.number().int(),
});
export type UploadLimits = z.infer<typeof UploadLimits>;

/** `POST /api/uploads`' answer (201). */
export const UploadResponse = z.object({ attachment: Attachment });
export type UploadResponse = z.infer<typeof UploadResponse>;

export const AttachmentParams = z.object({ attachmentId: id() });

/** A signed URL's query: both or neither (then the Authorization header must do). */
export const AttachmentQuery = z.object({
  exp: z.string().max(20).optional(),
  sig: z.string().max(200).optional(),
});
