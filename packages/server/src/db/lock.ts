import {
  closeSync,
  constants,
  fstatSync,
  openSync,
  readFileSync,
  statSync,
  unlinkSync,
} from 'node:fs';
import { ftruncateSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import fsExt from 'fs-ext';

/**
 * PGlite takes no lock on its directory, and two processes writing one data directory corrupt
 * it. We hold the kernel's lock (flock) on a file beside it for the life of the process: the
 * kernel drops it when the process ends, however it ends, so a lock file left by a crash is
 * simply taken over; and it holds between PID namespaces (two containers on one volume), where
 * a pid recorded in a file proves nothing. The file names its holder, for the message only.
 */
export class DataDirLockedError extends Error {}

export function acquireLock(file: string): () => void {
  for (;;) {
    const fd = openSync(file, constants.O_RDWR | constants.O_CREAT, 0o600);
    try {
      fsExt.flockSync(fd, 'exnb');
    } catch (err) {
      closeSync(fd);
      if (!['EAGAIN', 'EWOULDBLOCK'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
      throw new DataDirLockedError(
        `the embedded database at ${file.replace(/\.lock$/, '')} is in use${describeHolder(file)}; ` +
          'stop that server first, or point DATA_DIR elsewhere',
      );
    }
    // A holder that was releasing unlinked the file between our open and our lock: we hold a
    // lock on a name nobody else will open. Try again on the file that is there now.
    if (!isSameFile(fd, file)) {
      closeSync(fd);
      continue;
    }
    ftruncateSync(fd);
    writeSync(fd, JSON.stringify({ pid: process.pid, hostname: hostname() }), 0);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      // Unlinked while still held: whoever opens the name next gets a new file.
      unlinkSync(file);
      closeSync(fd);
    };
  }
}

function isSameFile(fd: number, file: string): boolean {
  try {
    return statSync(file).ino === fstatSync(fd).ino;
  } catch {
    return false;
  }
}

function describeHolder(file: string): string {
  try {
    const holder = JSON.parse(readFileSync(file, 'utf8')) as { pid?: unknown; hostname?: unknown };
    if (typeof holder.pid !== 'number') return '';
    const host = typeof holder.hostname === 'string' ? ` on host ${holder.hostname}` : '';
    return ` by process ${holder.pid}${host}`;
  } catch {
    return ''; // the holder is still writing it
  }
}
