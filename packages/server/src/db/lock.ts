import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';

/**
 * PGlite takes no lock on its directory, and two processes writing one data directory corrupt
 * it. We hold a lock file naming our pid and its start time; a lock whose process is gone, is a
 * zombie, or is another process that reused the pid, is stale and taken over, so that a restart
 * after a crash (SIGKILL leaves the file behind) just works.
 */
export class DataDirLockedError extends Error {}

interface LockOwner {
  pid: number;
  startTime: string | null;
}

export function acquireLock(file: string): () => void {
  const me: LockOwner = { pid: process.pid, startTime: processStartTime(process.pid) };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, JSON.stringify(me));
      closeSync(fd);
      return () => release(file, me);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = readOwner(file);
    if (owner && isAlive(owner)) {
      throw new DataDirLockedError(
        `the embedded database at ${file.replace(/\.lock$/, '')} is in use by process ${owner.pid}; ` +
          'stop that server first, or point DATA_DIR elsewhere',
      );
    }
    try {
      unlinkSync(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  throw new DataDirLockedError(`could not take the lock ${file}`);
}

function release(file: string, me: LockOwner): void {
  const owner = readOwner(file);
  if (owner?.pid === me.pid) unlinkSync(file);
}

function readOwner(file: string): LockOwner | null {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<LockOwner>;
    return typeof parsed.pid === 'number'
      ? { pid: parsed.pid, startTime: parsed.startTime ?? null }
      : null;
  } catch {
    return null; // unreadable or half-written: its writer died mid-write, so it is stale
  }
}

function isAlive(owner: LockOwner): boolean {
  try {
    process.kill(owner.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  const stat = readStat(owner.pid);
  if (stat === null) return process.platform !== 'linux'; // no /proc: trust kill(0)
  if (stat.state === 'Z' || stat.state === 'X') return false;
  return owner.startTime === null || stat.startTime === owner.startTime;
}

function processStartTime(pid: number): string | null {
  return readStat(pid)?.startTime ?? null;
}

/** /proc/PID/stat: the state is field 3 and the start time field 22, counted after the `(comm)`. */
function readStat(pid: number): { state: string; startTime: string } | null {
  try {
    const raw = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = raw.slice(raw.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '', startTime: fields[19] ?? '' };
  } catch {
    return null;
  }
}
