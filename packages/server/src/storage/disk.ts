import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import fsExt from 'fs-ext';
import { payloadTooLarge, unavailable } from '../errors.js';
import type { UploadStorage } from '../services/ports.js';

/** A key: two hex digits of fan-out, then a name of the id's characters (and a dotted variant). */
const KEY = /^[0-9a-f]{2}\/[0-9a-f-]{36}(\.[a-z]+)?$/;
const TEMPORARY = '.part';
/** How long an append waits for another process's lock on the same upload before giving up. */
const LOCK_PATIENCE_MS = 5000;
const LOCK_RETRY_MS = 5;

/**
 * Upload storage on a file system that every process sees (DATA_DIR/uploads). Appends to an
 * upload are serialised in process by a queue per key, and across processes by flock(2) on the
 * temporary file (held only for the append itself, never waited for in a thread: a busy lock is
 * tried again). The temporary file's length is what has been received: a process killed
 * mid-append leaves a prefix of the chunk, which the client's resume continues from.
 */
export class DiskStorage implements UploadStorage {
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly made = new Set<string>();

  constructor(private readonly root: string) {}

  file(key: string, temporary = false): string {
    if (!KEY.test(key)) throw new Error(`not a storage key: ${JSON.stringify(key)}`);
    return path.join(this.root, key + (temporary ? TEMPORARY : ''));
  }

  async create(key: string): Promise<void> {
    await this.dirOf(key);
    const fh = await open(this.file(key, true), 'wx', 0o600);
    await fh.close();
  }

  append(
    key: string,
    offset: number,
    data: Uint8Array,
  ): Promise<{ status: 'appended' | 'conflict'; received: number } | { status: 'missing' }> {
    return this.hold(key, 'r+', async (fh) => {
      if (!fh) return { status: 'missing' as const };
      const { size } = await fh.stat();
      if (size !== offset) return { status: 'conflict' as const, received: size };
      let written = 0;
      while (written < data.byteLength) {
        const { bytesWritten } = await fh.write(
          data,
          written,
          data.byteLength - written,
          size + written,
        );
        written += bytesWritten;
      }
      return { status: 'appended' as const, received: size + written };
    });
  }

  async write(key: string, source: NodeJS.ReadableStream, limit: number): Promise<number> {
    await this.dirOf(key);
    let count = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        count += chunk.length;
        done(count > limit ? payloadTooLarge(limit) : null, chunk);
      },
    });
    const file = this.file(key, true);
    try {
      await pipeline(source, counter, createWriteStream(file, { flags: 'wx', mode: 0o600 }));
    } catch (err) {
      await rm(file, { force: true });
      throw err;
    }
    return count;
  }

  exclusive<T>(key: string, work: () => Promise<T>): Promise<T> {
    return this.hold(key, 'r', () => work());
  }

  /**
   * In process, one holder per key at a time, in arrival order; across processes, flock on the
   * temporary file while `work` runs (closing the file releases it). `work` gets no file when
   * there is no temporary object: one committed or swept needs no lock, nothing appends to it.
   */
  private hold<T>(
    key: string,
    flags: 'r' | 'r+',
    work: (fh: FileHandle | undefined) => Promise<T>,
  ): Promise<T> {
    const previous = this.queues.get(key) ?? Promise.resolve();
    const run = previous.then(async () => {
      const fh = await this.openTemporary(key, flags);
      try {
        return await work(fh);
      } finally {
        await fh?.close();
      }
    });
    const tail = run.catch(() => {});
    this.queues.set(key, tail);
    void tail.then(() => {
      if (this.queues.get(key) === tail) this.queues.delete(key);
    });
    return run;
  }

  async commit(key: string): Promise<void> {
    const temporary = this.file(key, true);
    const fh = await open(temporary, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(temporary, this.file(key));
    // The rename itself is durable once the directory is.
    const dir = await open(path.dirname(temporary), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }

  async size(key: string, temporary = false): Promise<number | undefined> {
    try {
      return (await stat(this.file(key, temporary))).size;
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  read(key: string, range?: { start: number; end: number }): NodeJS.ReadableStream {
    return createReadStream(this.file(key), range ?? {});
  }

  async delete(keys: readonly string[]): Promise<void> {
    await Promise.all(
      keys.flatMap((key) => [
        rm(this.file(key), { force: true }),
        rm(this.file(key, true), { force: true }),
      ]),
    );
  }

  private async dirOf(key: string): Promise<void> {
    const dir = path.dirname(this.file(key));
    if (this.made.has(dir)) return;
    await mkdir(dir, { recursive: true, mode: 0o700 });
    this.made.add(dir);
  }

  /**
   * The temporary file, opened and flocked by this holder; undefined when there is none (or it
   * was renamed or removed while we waited for its lock: the name no longer leads to it).
   */
  private async openTemporary(key: string, flags: 'r' | 'r+'): Promise<FileHandle | undefined> {
    const file = this.file(key, true);
    let fh: FileHandle;
    try {
      fh = await open(file, flags);
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
    try {
      const deadline = Date.now() + LOCK_PATIENCE_MS;
      while (!tryLock(fh.fd)) {
        if (Date.now() > deadline) throw unavailable();
        await sleep(LOCK_RETRY_MS);
      }
      const [held, named] = await Promise.all([fh.stat(), stat(file).catch(() => undefined)]);
      if (named?.ino !== held.ino || named.dev !== held.dev) {
        await fh.close();
        return undefined;
      }
      return fh;
    } catch (err) {
      await fh.close();
      throw err;
    }
  }
}

function tryLock(fd: number): boolean {
  try {
    fsExt.flockSync(fd, 'exnb');
    return true;
  } catch (err) {
    if (['EAGAIN', 'EWOULDBLOCK'].includes((err as NodeJS.ErrnoException).code ?? '')) return false;
    throw err;
  }
}

const isMissing = (err: unknown) => (err as NodeJS.ErrnoException | null)?.code === 'ENOENT';
