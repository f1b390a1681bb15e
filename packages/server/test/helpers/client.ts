import { io, type Socket } from 'socket.io-client';
import type {
  Ack,
  AuthResponse,
  Chat,
  ClientToServerEvents,
  Message,
  ServerToClientEvents,
} from '@parley/protocol';

export type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** A typed HTTP client for one server, optionally signed in. */
export function api(baseUrl: string, token?: string) {
  const request = async <T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: T }> => {
    const res = await fetch(`${baseUrl}/api${path}`, {
      method,
      headers: {
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
  };
  return {
    get: <T = unknown>(path: string) => request<T>('GET', path),
    post: <T = unknown>(path: string, body?: unknown) => request<T>('POST', path, body),
    patch: <T = unknown>(path: string, body?: unknown) => request<T>('PATCH', path, body),
    delete: <T = unknown>(path: string) => request<T>('DELETE', path),
    request,
  };
}

let counter = 0;
/** A unique username per call, so tests never collide. */
export const uniqueName = (prefix = 'user') =>
  `${prefix}_${process.pid}_${Date.now().toString(36)}_${counter++}`.slice(0, 32);

export interface TestUser extends AuthResponse {
  api: ReturnType<typeof api>;
}

export async function registerUser(
  baseUrl: string,
  fields: { username?: string; password?: string; email?: string; displayName?: string } = {},
): Promise<TestUser> {
  const res = await api(baseUrl).post<AuthResponse>('/auth/register', {
    username: fields.username ?? uniqueName(),
    password: fields.password ?? 'correct horse battery',
    ...(fields.email ? { email: fields.email } : {}),
    ...(fields.displayName ? { displayName: fields.displayName } : {}),
  });
  if (res.status !== 201)
    throw new Error(`register failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { ...res.body, api: api(baseUrl, res.body.token) };
}

/** `n` fresh users at once, as a tuple: `const [alice, bob] = await registerUsers(url, 2)`. */
export function registerUsers<N extends 1 | 2 | 3 | 4 | 5>(
  baseUrl: string,
  n: N,
): Promise<[TestUser, TestUser, TestUser, TestUser, TestUser]> {
  return Promise.all(Array.from({ length: n }, () => registerUser(baseUrl))) as Promise<
    [TestUser, TestUser, TestUser, TestUser, TestUser]
  >;
}

export async function createDirect(a: TestUser, b: TestUser): Promise<Chat> {
  const res = await a.api.post<Chat>('/chats', { type: 'direct', userId: b.user.id });
  if (res.status !== 201 && res.status !== 200) throw new Error(`direct chat: ${res.status}`);
  return res.body;
}

export async function createGroup(
  owner: TestUser,
  members: TestUser[],
  name = 'Group',
): Promise<Chat> {
  const res = await owner.api.post<Chat>('/chats', {
    type: 'group',
    name,
    participantIds: members.map((m) => m.user.id),
  });
  if (res.status !== 201) throw new Error(`group chat: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

const open: ClientSocket[] = [];

/** A connected socket for the user; closed by `closeSockets()` (call it in afterEach). */
export async function connect(
  baseUrl: string,
  token: string,
  opts: { transports?: string[] } = {},
): Promise<ClientSocket> {
  const socket: ClientSocket = io(baseUrl, {
    auth: { token },
    transports: opts.transports ?? ['websocket'],
    reconnection: false,
    forceNew: true,
  });
  open.push(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (err) => reject(err));
  });
  return socket;
}

/** Resolves with the connect_error a refused handshake gets. */
export function connectRefused(
  baseUrl: string,
  auth: unknown,
  extraHeaders?: Record<string, string>,
): Promise<Error> {
  const socket: ClientSocket = io(baseUrl, {
    auth: auth as Record<string, unknown>,
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    ...(extraHeaders ? { extraHeaders } : {}),
  });
  open.push(socket);
  return new Promise((resolve, reject) => {
    socket.once('connect', () => reject(new Error('connected, but should have been refused')));
    socket.once('connect_error', (err) => resolve(err));
  });
}

export function closeSockets(): void {
  for (const s of open.splice(0)) s.disconnect();
}

/** Emits with an acknowledgement and resolves with it. */
export function emitAck<E extends keyof ClientToServerEvents, T extends object = object>(
  socket: ClientSocket,
  event: E,
  payload: unknown,
): Promise<Ack<T>> {
  return new Promise((resolve) => {
    // The payload is deliberately untyped: tests send junk too.
    (socket.emit as (e: string, p: unknown, cb: (r: Ack<T>) => void) => void)(
      event,
      payload,
      resolve,
    );
  });
}

export const sendMessage = (socket: ClientSocket, payload: Record<string, unknown>) =>
  emitAck<'message:send', { message: Message }>(socket, 'message:send', payload);

/** Resolves with the next `event` that matches, or rejects after `timeoutMs`. */
export function waitFor<E extends keyof ServerToClientEvents>(
  socket: ClientSocket,
  event: E,
  match: (payload: Parameters<ServerToClientEvents[E]>[0]) => boolean = () => true,
  timeoutMs = 5000,
): Promise<Parameters<ServerToClientEvents[E]>[0]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off(event, listener as never);
      reject(new Error(`timed out waiting for ${event}`));
    }, timeoutMs);
    const listener = (payload: Parameters<ServerToClientEvents[E]>[0]) => {
      if (!match(payload)) return;
      clearTimeout(timer);
      socket.off(event, listener as never);
      resolve(payload);
    };
    socket.on(event, listener as never);
  });
}

/** Collects every `event` the socket receives, for asserting what did NOT arrive. */
export function record<E extends keyof ServerToClientEvents>(socket: ClientSocket, event: E) {
  const seen: Parameters<ServerToClientEvents[E]>[0][] = [];
  socket.on(event, ((p: Parameters<ServerToClientEvents[E]>[0]) => seen.push(p)) as never);
  return seen;
}

/**
 * A round trip through the server on this socket: once it is acked, every broadcast the server
 * made before it has been delivered to this socket (one connection keeps order).
 */
export async function settle(...sockets: ClientSocket[]): Promise<void> {
  await Promise.all(
    sockets.map((s) =>
      emitAck(s, 'chat:leave', { chatId: '00000000-0000-0000-0000-000000000000' }),
    ),
  );
}
