import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Ack, Message, MessagePage } from '@parley/protocol';
import type { ClientSocket, TestUser } from './client.js';

/**
 * The real server as a child process (`node --import tsx src/main.ts`), for what only a process
 * shows: signals, exit codes, a SIGKILL in the middle of a write, the start-up line, refusals.
 * `node` is spawned directly, never through `npx tsx`, so that a signal reaches the process that
 * holds the database.
 */

const SERVER_DIR = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = path.join('src', 'main.ts');
const COMPILED = path.join('dist', 'main.js');

/** The variables of shared/contract.md (and the server's own extras), never inherited from the test run. */
const PARLEY_VARS = [
  'NODE_ENV',
  'METRICS_TOKEN',
  'PORT',
  'HOST',
  'DATABASE_URL',
  'DATA_DIR',
  'REDIS_URL',
  'REDIS_PREFIX',
  'JWT_SECRET',
  'JWT_TTL',
  'CORS_ORIGINS',
  'RATE_LIMIT_AUTH',
  'RATE_LIMIT_MESSAGES',
  'RATE_LIMIT_EVENTS',
  'RATE_LIMIT_CHATS',
  'MAX_SOCKETS_PER_USER',
  'TRUST_PROXY',
  'LOG_LEVEL',
  'TYPING_TIMEOUT_MS',
  'PRESENCE_GRACE_MS',
  'MAX_CONNECTIONS',
  'CHECKPOINT_INTERVAL_MS',
  'WEB_DIST',
];

export interface ChildOptions {
  dataDir: string;
  /** A PostgreSQL URL; unset runs the embedded store in `dataDir`. */
  databaseUrl?: string | undefined;
  /** Extra or overriding variables; `undefined` removes one. */
  env?: Record<string, string | undefined>;
  /**
   * Runs what `npm start` runs, the compiled dist/main.js (built by scripts/ensure-server.mjs,
   * which the caller runs first), instead of the sources through tsx: for measurements.
   */
  compiled?: boolean;
  /** Node's own flags, before the script (`--cpu-prof` is refused in NODE_OPTIONS). */
  nodeArgs?: string[];
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ChildServer {
  readonly pid: number;
  readonly process: ChildProcess;
  /** Resolves with the URL of the `listening` line; rejects if the process exits before it. */
  readonly ready: Promise<string>;
  /** Resolves when the process has exited. */
  readonly exited: Promise<Exit>;
  stdout(): string;
  stderr(): string;
  /** Sends the signal and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<Exit>;
}

const children = new Set<ChildServer>();
const dirs: string[] = [];

export function serverEnv(options: ChildOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of PARLEY_VARS) delete env[name];
  Object.assign(env, {
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: options.dataDir,
    LOG_LEVEL: 'warn',
    RATE_LIMIT_AUTH: '0',
    RATE_LIMIT_MESSAGES: '0',
    WEB_DIST: path.join(options.dataDir, 'no-web-client'),
    ...(options.databaseUrl ? { DATABASE_URL: options.databaseUrl } : {}),
  });
  for (const [name, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}

/** Starts the server; await `ready` for its URL. Every child is killed by `killChildren()`. */
export function spawnServer(options: ChildOptions): ChildServer {
  const entry = options.compiled ? ['--enable-source-maps', COMPILED] : ['--import', 'tsx', MAIN];
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), ...entry], {
    cwd: SERVER_DIR,
    env: serverEnv(options),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => (err += chunk));

  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const ready = new Promise<string>((resolve, reject) => {
    let pending = '';
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
      pending += chunk;
      let newline: number;
      while ((newline = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        const url = listeningUrl(line);
        if (url) resolve(url);
      }
    });
    void exited.then((exit) =>
      reject(
        new Error(
          `server exited before listening (code ${exit.code}, signal ${exit.signal})\n` +
            `stdout: ${out}\nstderr: ${err}`,
        ),
      ),
    );
  });
  // A caller that only awaits `exited` must not see an unhandled rejection.
  ready.catch(() => {});

  const server: ChildServer = {
    pid: child.pid ?? -1,
    process: child,
    ready,
    exited,
    stdout: () => out,
    stderr: () => err,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
  children.add(server);
  void exited.then(() => children.delete(server));
  return server;
}

/** Starts the server and waits for its `listening` line. */
export async function startChild(options: ChildOptions): Promise<ChildServer & { url: string }> {
  const server = spawnServer(options);
  const url = await server.ready;
  return Object.assign(server, { url });
}

/** Runs a server that is expected to refuse to start, and returns how it ended. */
export async function runUntilExit(
  options: ChildOptions,
  timeoutMs = 20_000,
): Promise<Exit & { stdout: string; stderr: string; listened: boolean }> {
  const server = spawnServer(options);
  let listened = false;
  server.ready.then(
    () => (listened = true),
    () => {},
  );
  const timer = setTimeout(() => server.process.kill('SIGKILL'), timeoutMs);
  const exit = await server.exited;
  clearTimeout(timer);
  return { ...exit, stdout: server.stdout(), stderr: server.stderr(), listened };
}

function listeningUrl(line: string): string | undefined {
  try {
    const parsed = JSON.parse(line) as { msg?: unknown; url?: unknown };
    return parsed.msg === 'listening' && typeof parsed.url === 'string' ? parsed.url : undefined;
  } catch {
    return undefined;
  }
}

/** SIGKILLs every child still running and waits for them: call it in afterEach. */
export async function killChildren(): Promise<void> {
  const running = [...children];
  for (const c of running) c.process.kill('SIGKILL');
  await Promise.all(running.map((c) => c.exited));
}

/** A fresh temporary directory, removed by `removeTempDirs()`. */
export function tempDir(prefix = 'parley-test-'): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** Resolves after `ms`. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// --- Sends to a server that may die or shut down mid-stream -------------------------------

/** How one send ended, as the client saw it. */
export type SendOutcome =
  | { kind: 'ok'; message: Message }
  | { kind: 'error'; code: string }
  /** The socket closed before an answer; `emitted` says whether the send left the client at all. */
  | { kind: 'closed'; emitted: boolean };

/**
 * `message:send` that settles even when the server goes away: with the ack, or when the socket
 * closes first (an ack can never arrive after that). A closed socket sends nothing: Socket.IO
 * would buffer the event for a reconnect that never comes.
 */
export function sendOrClose(
  socket: ClientSocket,
  payload: Record<string, unknown>,
): Promise<SendOutcome> {
  if (!socket.connected) return Promise.resolve({ kind: 'closed', emitted: false });
  return new Promise((resolve) => {
    const onClose = () => resolve({ kind: 'closed', emitted: true });
    socket.once('disconnect', onClose);
    (socket.emit as (e: string, p: unknown, cb: (r: Ack<{ message: Message }>) => void) => void)(
      'message:send',
      payload,
      (ack) => {
        socket.off('disconnect', onClose);
        resolve(
          ack.ok ? { kind: 'ok', message: ack.message } : { kind: 'error', code: ack.error.code },
        );
      },
    );
  });
}

export interface StreamedSend {
  clientMessageId: string;
  content: string;
  outcome: SendOutcome;
}

/**
 * One sender's stream: `count` messages sent one after another, each awaiting its answer, until
 * the socket closes (what is left is recorded as never emitted). `onAnswer` runs as each ends.
 */
export async function streamSends(
  socket: ClientSocket,
  chatId: string,
  prefix: string,
  count: number,
  options: { pauseMs?: number; onAnswer?: (send: StreamedSend) => void } = {},
): Promise<StreamedSend[]> {
  const sends: StreamedSend[] = [];
  for (let i = 1; i <= count; i++) {
    const clientMessageId = `${prefix}-${i}`;
    const content = `${prefix} message ${i} ✓`;
    const outcome = await sendOrClose(socket, { chatId, content, clientMessageId });
    const send = { clientMessageId, content, outcome };
    sends.push(send);
    options.onAnswer?.(send);
    if (options.pauseMs) await sleep(options.pauseMs);
  }
  return sends;
}

/**
 * A chat's whole history as a client would page it, 100 at a time: back from the newest with
 * `before` to the first message, then forward from that one with `after` (a reconnecting
 * client's path). Throws unless both walks agree.
 */
export async function fetchHistory(user: TestUser, chatId: string): Promise<Message[]> {
  const page = async (query: string) => {
    const res = await user.api.get<MessagePage>(`/chats/${chatId}/messages?limit=100${query}`);
    if (res.status !== 200) throw new Error(`history: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  };
  let backward: Message[] = [];
  let current = await page('');
  backward = current.messages;
  while (current.has_more && backward[0]) {
    current = await page(`&before=${backward[0].id}`);
    backward = [...current.messages, ...backward];
  }
  const first = backward[0];
  if (!first) return [];
  const forward: Message[] = [first];
  for (;;) {
    const last = forward.at(-1)!;
    current = await page(`&after=${last.id}`);
    forward.push(...current.messages);
    if (!current.has_more) break;
  }
  const ids = (list: Message[]) => list.map((m) => m.id).join(',');
  if (ids(forward) !== ids(backward)) {
    throw new Error(
      `paging with after (${forward.length}) and with before (${backward.length}) disagree`,
    );
  }
  return forward;
}
