import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createApp, createLogger } from '../src/app.js';
import { DataDirLockedError } from '../src/db/lock.js';
import { api, registerUser } from './helpers/client.js';
import {
  killChildren,
  removeTempDirs,
  runUntilExit,
  serverEnv,
  startChild,
  tempDir,
} from './helpers/process.js';
import { startServer, testConfig, type TestServer } from './helpers/server.js';

/**
 * The embedded database's DATA_DIR lock is the kernel's (flock on a file held open), so it holds
 * where a recorded pid means nothing: between PID namespaces, as two containers sharing one
 * volume during a rolling update are. `unshare` needs root, which tests and CI have.
 */

const SERVER_DIR = fileURLToPath(new URL('..', import.meta.url));
const username = `nslock_${process.pid}_${Date.now().toString(36)}`.slice(0, 32);
const password = 'correct horse battery';

/** The server in a PID namespace of its own, where it is pid 1 and sees no other process. */
function startInNamespace(dataDir: string) {
  const child = spawn(
    'unshare',
    [
      '--pid',
      '--fork',
      '--mount-proc',
      '--kill-child',
      process.execPath,
      '--import',
      'tsx',
      'src/main.ts',
    ],
    { cwd: SERVER_DIR, env: serverEnv({ dataDir }), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const listening = new Promise<boolean>((resolve) => {
    child.stdout.on('data', () => output.includes('"msg":"listening"') && resolve(true));
    void exited.then(() => resolve(false));
  });
  return { child, exited, listening, output: () => output };
}

const logIn = async (url: string) =>
  (await api(url).post('/auth/login', { username, password })).status;

describe('the DATA_DIR lock across PID namespaces', () => {
  let dataDir: string;
  const namespaced: ReturnType<typeof startInNamespace>[] = [];

  beforeAll(async () => {
    dataDir = tempDir();
    const server = await startServer({ dataDir });
    await api(server.url).post('/auth/register', { username, password });
    await server.close();
  }, 60_000);

  afterEach(async () => {
    for (const n of namespaced.splice(0)) {
      n.child.kill('SIGKILL');
      await n.exited;
    }
    await killChildren();
  });
  afterAll(removeTempDirs);

  it('refuses a second server started in another PID namespace, with a clear message', async () => {
    const running: TestServer = await startServer({ dataDir });
    try {
      const second = startInNamespace(dataDir);
      namespaced.push(second);
      const listened = await second.listening;
      if (listened) second.child.kill('SIGKILL');
      const code = await second.exited;
      expect(listened).toBe(false);
      expect(code).not.toBe(0);
      expect(second.output()).toMatch(/parley: the embedded database at .* is in use/);
      expect(second.output()).toContain(dataDir);
      expect(await logIn(running.url)).toBe(200);
    } finally {
      await running.close();
    }
  }, 30_000);

  it('refuses a server here while one in another PID namespace holds the DATA_DIR', async () => {
    const first = startInNamespace(dataDir);
    namespaced.push(first);
    expect(await first.listening).toBe(true);
    const second = createApp(testConfig({ dataDir }), createLogger('silent'));
    await expect(second).rejects.toThrow(DataDirLockedError);
    await expect(second).rejects.toThrow(/in use/);
  }, 30_000);

  it('takes over the lock of a server killed with SIGKILL', async () => {
    const killed = await startChild({ dataDir });
    killed.process.kill('SIGKILL');
    await killed.exited;
    // A crash cannot remove the file, but the kernel dropped the lock with the process.
    expect(existsSync(path.join(dataDir, 'pglite.lock'))).toBe(true);
    const restarted = await startServer({ dataDir });
    try {
      expect(await logIn(restarted.url)).toBe(200);
    } finally {
      await restarted.close();
    }
  }, 30_000);
});

/** A lock file that no running server holds is taken over, whatever it says. */
describe('the embedded database lock', () => {
  let dataDir: string;
  let lockFile: string;
  const username = `lock_${process.pid}_${Date.now().toString(36)}`.slice(0, 32);
  const password = 'correct horse battery';
  const others: { kill(): void }[] = [];

  const logIn = async (server: TestServer) =>
    (await api(server.url).post('/auth/login', { username, password })).status;
  const lockOwner = () => (JSON.parse(readFileSync(lockFile, 'utf8')) as { pid: number }).pid;

  beforeAll(async () => {
    dataDir = tempDir();
    lockFile = path.join(dataDir, 'pglite.lock');
    const server = await startServer({ dataDir });
    await registerUser(server.url, { username, password });
    await server.close();
  }, 60_000);

  afterEach(() => {
    for (const other of others.splice(0)) other.kill();
  });

  it('makes a second server on a DATA_DIR in use refuse to start, with a clear message', async () => {
    const running = await startServer({ dataDir });
    try {
      expect(lockOwner()).toBe(process.pid);
      const second = createApp({ ...running.config }, createLogger('silent'));
      await expect(second).rejects.toThrow(DataDirLockedError);
      await expect(second).rejects.toThrow(/in use/);

      const child = await runUntilExit({ dataDir });
      expect(child.listened).toBe(false);
      expect(child.code).not.toBe(0);
      expect(child.code).not.toBeNull();
      const output = child.stderr + child.stdout;
      expect(output).toMatch(/in use/);
      expect(output).toContain(dataDir);

      // The server that holds it is unharmed.
      expect(await logIn(running)).toBe(200);
      expect(lockOwner()).toBe(process.pid);
    } finally {
      await running.close();
    }
    expect(existsSync(lockFile)).toBe(false);
  }, 30_000);

  const exitedProcessPid = async () => {
    const child = spawn('true');
    await new Promise((resolve) => child.once('exit', resolve));
    return child.pid!;
  };
  const liveProcessPid = () => {
    const child = spawn('sleep', ['60']);
    others.push({ kill: () => child.kill('SIGKILL') });
    return child.pid!;
  };

  it.each([
    [
      'a process that has exited',
      async () => JSON.stringify({ pid: await exitedProcessPid(), startTime: 'x' }),
    ],
    [
      'a live process that reused the pid of the dead owner',
      () => Promise.resolve(JSON.stringify({ pid: liveProcessPid(), startTime: 'x' })),
    ],
    ['nobody: a server killed while writing it', () => Promise.resolve('{"pid":')],
  ])('takes over a stale lock naming %s, and starts', async (_, lock) => {
    writeFileSync(lockFile, await lock());
    const server = await startServer({ dataDir });
    try {
      expect(lockOwner()).toBe(process.pid);
      expect(await logIn(server)).toBe(200);
      expect((await fetch(`${server.url}/api/health`)).status).toBe(200);
    } finally {
      await server.close();
    }
    expect(existsSync(lockFile)).toBe(false);
  });
});
