// Files on their way into a message: chosen in the composer, uploaded over the socket in chunks
// (upload:start, chunk, status, finish), then named by a send's attachmentIds. An upload outlives
// the connection: a drop pauses it, and the next connect asks upload:status and goes on from the
// bytes the server holds. What is pending lives here, per chat, apart from the session's State:
// only the composer shows it.
import {
  Attachment,
  Message,
  UploadLimits,
  type ClientToServerEvents,
  type MessageSendPayload,
} from '@parley/protocol';
import { api, describeError } from '../api.js';
import { emitWithAck, newClientMessageId, type AckOf, type TimedOut } from '../socket.js';
import { ActionError, refusalText } from './errors.js';
import type { Session } from './session.js';

/** How long one acknowledgement may take before the upload waits for a new connection. */
export const UPLOAD_ACK_TIMEOUT_MS = 15_000;
/** The pause after `rate_limited` (the server counts events per 10 s window). */
export const RATE_LIMIT_PAUSE_MS = 2_000;
/** Chunks of one upload sent before the first is acknowledged. */
export const CHUNKS_IN_FLIGHT = 4;
/** A message holds at most this many attachments. */
export const MAX_ATTACHMENTS = 10;

export type UploadStatus = 'uploading' | 'paused' | 'done' | 'failed';

export interface PendingUpload {
  /** This page's own id for it (the server's uploadId comes later). */
  key: string;
  chatId: string;
  name: string;
  size: number;
  /** Bytes the server acknowledged. */
  received: number;
  status: UploadStatus;
  /** Why it failed, in words. */
  error: string | null;
  attachment: Attachment | null;
}

export interface UploadsState {
  /** MAX_UPLOAD_BYTES, once the server said it. */
  limit: number | null;
  byChat: Readonly<Record<string, readonly PendingUpload[]>>;
}

/** A size in words: "812 bytes", "48 KB", "2.4 MB" (binary units, as file managers count). */
export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} ${bytes === 1 ? 'byte' : 'bytes'}`;
  const units = ['KB', 'MB', 'GB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const shown = value >= 10 || Number.isInteger(value) ? Math.round(value) : value.toFixed(1);
  return `${shown} ${units[unit]}`;
}

export const limitText = (limit: number) => `Files up to ${formatSize(limit)} each`;

const tooLargeText = (name: string, size: number, limit: number) =>
  `${name} is ${formatSize(size)}: files can be at most ${formatSize(limit)}.`;

type UploadEvent = 'upload:start' | 'upload:chunk' | 'upload:status' | 'upload:finish';
type Answer<E extends UploadEvent> = AckOf<E> | TimedOut;

const EMPTY: readonly PendingUpload[] = [];
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface Job {
  file: Blob;
  mime: string;
  uploadId: string | null;
  chunkSize: number;
  /** Bumped on every pause and cancel: a loop of an older run stops at its next step. */
  run: number;
  cancelled: boolean;
}

export class Uploads {
  private state: UploadsState = { limit: null, byChat: {} };
  private readonly listeners = new Set<() => void>();
  private readonly jobs = new Map<string, Job>();
  /** Per chat, the send of these files under way or unanswered, and its clientMessageId. */
  private readonly attempts = new Map<string, { files: string; clientMessageId: string }>();
  private keySeq = 0;

  constructor(
    private readonly session: Session,
    private readonly hooks: { stored(message: Message): void },
    private readonly options = {
      ackTimeoutMs: UPLOAD_ACK_TIMEOUT_MS,
      rateLimitPauseMs: RATE_LIMIT_PAUSE_MS,
    },
  ) {
    const { socket } = session;
    // Acks owed on a dropped connection never come: pause, and go on from upload:status after.
    socket.on('disconnect', () => this.pauseAll());
    socket.on('connect', () => this.resumeAll());
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): UploadsState => this.state;

  list(chatId: string): readonly PendingUpload[] {
    return this.state.byChat[chatId] ?? EMPTY;
  }

  /** Asks the server for MAX_UPLOAD_BYTES; without it the limit is learnt from a refusal. */
  async loadLimits(): Promise<void> {
    try {
      const limits = UploadLimits.parse(await api.uploadLimits(this.session.token));
      this.update((s) => ({ ...s, limit: limits.max_bytes }));
    } catch (err) {
      console.warn('Upload limits unknown', err);
    }
  }

  /** Chooses files for the chat's next message; each starts uploading at once. */
  add(chatId: string, files: readonly File[]): void {
    for (const file of files) {
      const key = `upload-${++this.keySeq}`;
      const limit = this.state.limit;
      const tooLarge = limit !== null && file.size > limit;
      const room = this.list(chatId).length < MAX_ATTACHMENTS;
      const empty = file.size === 0;
      const error = tooLarge
        ? tooLargeText(file.name, file.size, limit)
        : !room
          ? `A message holds at most ${MAX_ATTACHMENTS} files.`
          : empty
            ? `${file.name} is empty.`
            : null;
      const upload: PendingUpload = {
        key,
        chatId,
        name: file.name,
        size: file.size,
        received: 0,
        status: error ? 'failed' : 'uploading',
        error,
        attachment: null,
      };
      this.update((s) => ({
        ...s,
        byChat: { ...s.byChat, [chatId]: [...(s.byChat[chatId] ?? []), upload] },
      }));
      if (error) continue;
      const job: Job = {
        file,
        // An empty File.type says nothing: the contract's stand-in for "some bytes".
        mime: file.type || 'application/octet-stream',
        uploadId: null,
        chunkSize: 0,
        run: 0,
        cancelled: false,
      };
      this.jobs.set(key, job);
      if (this.session.socket.connected) void this.upload(chatId, key, job);
      else this.set(chatId, key, { status: 'paused' });
    }
  }

  /** Cancel or remove: stops sending its bytes (the server sweeps what it holds). */
  remove(chatId: string, key: string): void {
    const job = this.jobs.get(key);
    if (job) {
      job.cancelled = true;
      job.run += 1;
      this.jobs.delete(key);
    }
    this.update((s) => ({
      ...s,
      byChat: { ...s.byChat, [chatId]: this.list(chatId).filter((u) => u.key !== key) },
    }));
  }

  /**
   * Sends the chat's finished uploads with `content` (which may be empty) in one message. Rejects
   * in words when some are still on their way or failed, or the server refuses the send; the
   * uploads then stay, to send again.
   */
  async send(chatId: string, content: string, options: { replyToId?: string } = {}): Promise<void> {
    const uploads = this.list(chatId);
    if (uploads.some((u) => u.status === 'failed')) {
      throw new ActionError('Remove the files that could not be uploaded, then send.');
    }
    if (uploads.some((u) => u.status !== 'done')) {
      throw new ActionError('Wait until every file has uploaded, then send.');
    }
    if (!this.session.socket.connected) {
      throw new ActionError('You are offline. The files are kept: send when you are back.');
    }
    const attachmentIds = uploads.flatMap((u) => (u.attachment ? [u.attachment.id] : []));
    // A send of the same files again (its ack was lost: a timeout) carries the same
    // clientMessageId, so the server answers with the message it stored rather than a refusal.
    const files = attachmentIds.join(',');
    let attempt = this.attempts.get(chatId);
    if (attempt?.files !== files) {
      attempt = { files, clientMessageId: newClientMessageId() };
      this.attempts.set(chatId, attempt);
    }
    const payload: MessageSendPayload = {
      chatId,
      content,
      clientMessageId: attempt.clientMessageId,
      attachmentIds,
      ...(options.replyToId ? { replyToId: options.replyToId } : {}),
    };
    const ack = await emitWithAck(
      this.session.socket,
      'message:send',
      payload,
      this.options.ackTimeoutMs,
    );
    if (!ack.ok) throw new ActionError(refusalText(ack));
    this.attempts.delete(chatId);
    const parsed = Message.safeParse(ack.message);
    const sent = new Set(payload.attachmentIds);
    this.update((s) => ({
      ...s,
      byChat: {
        ...s.byChat,
        [chatId]: this.list(chatId).filter((u) => !u.attachment || !sent.has(u.attachment.id)),
      },
    }));
    if (parsed.success) this.hooks.stored(parsed.data);
  }

  // ---- the upload loop -----------------------------------------------------------------------

  private async upload(chatId: string, key: string, job: Job): Promise<void> {
    const run = ++job.run;
    const live = () => !job.cancelled && job.run === run;
    this.set(chatId, key, { status: 'uploading', error: null });
    try {
      let received: number;
      if (job.uploadId === null) {
        const started = await this.emit('upload:start', {
          chatId,
          name: (job.file as File).name,
          size: job.file.size,
          mime: job.mime,
        });
        if (!live()) return;
        if (!started.ok) return this.refused(chatId, key, job, started);
        job.uploadId = started.uploadId;
        job.chunkSize = started.chunkSize;
        received = 0;
      } else {
        // Resuming after a reconnect: the server says how far the bytes got.
        const status = await this.emit('upload:status', { uploadId: job.uploadId });
        if (!live()) return;
        if (!status.ok) return this.refused(chatId, key, job, status);
        received = status.received;
      }
      const uploadId = job.uploadId;
      // A few chunks in flight: the server appends one upload's chunks in the order they arrive,
      // and one round trip per chunk would leave the connection idle most of the time.
      let next = received;
      let inFlight: Promise<Answer<'upload:chunk'>>[] = [];
      while (received < job.file.size) {
        while (inFlight.length < CHUNKS_IN_FLIGHT && next < job.file.size) {
          const end = Math.min(next + job.chunkSize, job.file.size);
          const data = new Uint8Array(await job.file.slice(next, end).arrayBuffer());
          if (!live()) return;
          inFlight.push(this.emit('upload:chunk', { uploadId, offset: next, data }));
          next = end;
        }
        const ack = await inFlight.shift()!;
        if (!live()) return;
        if (ack.ok) {
          received = Math.max(received, ack.received);
          this.set(chatId, key, { received });
          continue;
        }
        if ('timedOut' in ack) return this.pause(chatId, key, job);
        const { code } = ack.error;
        if (code !== 'conflict' && code !== 'rate_limited')
          return this.refused(chatId, key, job, ack);
        // The chunks behind this one were sent from the wrong offset: let them be answered
        // (refused), then go on from what the server holds.
        await Promise.all(inFlight);
        inFlight = [];
        if (code === 'rate_limited') await sleep(this.options.rateLimitPauseMs);
        if (!live()) return;
        const status = await this.emit('upload:status', { uploadId });
        if (!live()) return;
        if (!status.ok) return this.refused(chatId, key, job, status);
        received = next = status.received;
        this.set(chatId, key, { received });
      }
      this.set(chatId, key, { received });
      const finished = await this.emit('upload:finish', { uploadId });
      if (!live()) return;
      if (!finished.ok) return this.refused(chatId, key, job, finished);
      const attachment = Attachment.safeParse(finished.attachment);
      if (!attachment.success) {
        return this.fail(chatId, key, 'The server sent an answer this app cannot read.');
      }
      this.jobs.delete(key);
      this.set(chatId, key, {
        status: 'done',
        received: job.file.size,
        attachment: attachment.data,
      });
    } catch (err) {
      console.error(err);
      if (live()) this.fail(chatId, key, 'This file could not be read.');
    }
  }

  private refused<E extends UploadEvent>(
    chatId: string,
    key: string,
    job: Job,
    ack: Exclude<Answer<E>, { ok: true }>,
  ): void {
    if ('timedOut' in ack) return this.pause(chatId, key, job);
    if (ack.error.code === 'payload_too_large') {
      // The server's limit may be lower than the one this page was told (or was never told).
      const limit = Number(/at most (\d+) bytes/.exec(ack.error.message)?.[1]);
      if (Number.isFinite(limit) && limit > 0) this.update((s) => ({ ...s, limit }));
      const name = (job.file as File).name;
      return this.fail(
        chatId,
        key,
        Number.isFinite(limit) && limit > 0
          ? tooLargeText(name, job.file.size, limit)
          : `${name} is too large to send.`,
      );
    }
    this.fail(chatId, key, describeError(ack.error.code, ack.error.message));
  }

  private fail(chatId: string, key: string, error: string): void {
    this.jobs.delete(key);
    this.set(chatId, key, { status: 'failed', error });
  }

  private pause(chatId: string, key: string, job: Job): void {
    job.run += 1;
    this.set(chatId, key, { status: 'paused' });
    // An ack that never came on a connection still up: ask again now rather than wait for a drop.
    if (this.session.socket.connected) void this.upload(chatId, key, job);
  }

  private pauseAll(): void {
    for (const [chatId, list] of Object.entries(this.state.byChat)) {
      for (const u of list) {
        const job = this.jobs.get(u.key);
        if (!job || u.status !== 'uploading') continue;
        job.run += 1;
        this.set(chatId, u.key, { status: 'paused' });
      }
    }
  }

  private resumeAll(): void {
    for (const [chatId, list] of Object.entries(this.state.byChat)) {
      for (const u of list) {
        const job = this.jobs.get(u.key);
        if (job && u.status !== 'done' && u.status !== 'failed') {
          void this.upload(chatId, u.key, job);
        }
      }
    }
  }

  private emit<E extends UploadEvent>(
    event: E,
    payload: Parameters<ClientToServerEvents[E]>[0],
  ): Promise<Answer<E>> {
    return emitWithAck(this.session.socket, event, payload, this.options.ackTimeoutMs);
  }

  private set(chatId: string, key: string, change: Partial<PendingUpload>): void {
    const list = this.state.byChat[chatId];
    if (!list?.some((u) => u.key === key)) return;
    this.update((s) => ({
      ...s,
      byChat: {
        ...s.byChat,
        [chatId]: list.map((u) => (u.key === key ? { ...u, ...change } : u)),
      },
    }));
  }

  private update(change: (s: UploadsState) => UploadsState): void {
    if (this.session.stopped) return;
    this.state = change(this.state);
    for (const l of this.listeners) l();
  }
}
