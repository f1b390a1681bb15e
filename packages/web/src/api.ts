// Typed HTTP helpers: every call goes through `request`, which attaches the token, parses the
// answer with protocol's schema and turns the contract's error body into an `ApiError`.
import {
  AuthResponse,
  BlockedUsersResponse,
  ChangesPage,
  Chat,
  ChatListResponse,
  ErrorResponse,
  IceServersResponse,
  MeResponse,
  Message,
  MessageEdits,
  MessagePage,
  SearchPage,
  TokenResponse,
  UploadLimits,
  UserSearchResponse,
  type ChangePasswordRequest,
  type CreateChatRequest,
  type ErrorCode,
  type LoginRequest,
  type RegisterRequest,
  type UpdateMeRequest,
} from '@parley/protocol';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode | 'network',
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

interface RequestOptions {
  token?: string | null;
  body?: unknown;
  query?: Record<string, string | number | undefined>;
}

/** What `request` needs of a protocol schema: zod's `safeParse`, without importing zod here. */
interface Schema<T> {
  safeParse(data: unknown): { success: true; data: T } | { success: false; error: unknown };
}

/** A 204 answer: nothing to parse. */
const NoContent: Schema<null> = { safeParse: () => ({ success: true, data: null }) };

/** `fetch`, its network failure (offline, server down) said in words. */
async function reach(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch {
    throw new ApiError(0, 'network', 'Cannot reach the server. Check your connection.');
  }
}

/** A refused request's ApiError, from the contract's error body when it has one. */
function failure(status: number, payload: unknown): ApiError {
  const parsed = ErrorResponse.safeParse(payload);
  return parsed.success
    ? new ApiError(status, parsed.data.error.code, parsed.data.error.message)
    : new ApiError(status, 'internal', `The server answered ${status}.`);
}

async function request<T>(
  schema: Schema<T>,
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  path: string,
  { token, body, query }: RequestOptions = {},
): Promise<T> {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined) params.set(key, String(value));
  }
  const qs = params.size > 0 ? `?${params.toString()}` : '';
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;

  const response = await reach(`/api${path}${qs}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const payload: unknown = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw failure(response.status, payload);
  const parsed = schema.safeParse(payload);
  if (!parsed.success) {
    console.error(`Unexpected answer to ${method} ${path}`, parsed.error);
    throw new ApiError(
      response.status,
      'internal',
      'The server sent an answer this app cannot read.',
    );
  }
  return parsed.data;
}

export const api = {
  register: (body: RegisterRequest) => request(AuthResponse, 'POST', '/auth/register', { body }),
  login: (body: LoginRequest) => request(AuthResponse, 'POST', '/auth/login', { body }),
  me: (token: string) => request(MeResponse, 'GET', '/auth/me', { token }),
  logout: (token: string) => request(NoContent, 'POST', '/auth/logout', { token }),
  logoutAll: (token: string) => request(NoContent, 'POST', '/auth/logout-all', { token }),
  updateMe: (token: string, body: UpdateMeRequest) =>
    request(MeResponse, 'PATCH', '/auth/me', { token, body }),
  /** Answers the only token that works from now on: every earlier one has ended. */
  changePassword: (token: string, body: ChangePasswordRequest) =>
    request(TokenResponse, 'POST', '/auth/password', { token, body }),
  searchUsers: (token: string, q: string) =>
    request(UserSearchResponse, 'GET', '/users/search', { token, query: { q } }),
  listChats: (token: string, cursor?: string) =>
    request(ChatListResponse, 'GET', '/chats', { token, query: { cursor } }),
  getChat: (token: string, chatId: string) => request(Chat, 'GET', `/chats/${chatId}`, { token }),
  createChat: (token: string, body: CreateChatRequest) =>
    request(Chat, 'POST', '/chats', { token, body }),
  addParticipant: (token: string, chatId: string, userId: string) =>
    request(Chat, 'POST', `/chats/${chatId}/participants`, { token, body: { userId } }),
  renameChat: (token: string, chatId: string, name: string) =>
    request(Chat, 'PATCH', `/chats/${chatId}`, { token, body: { name } }),
  setRole: (token: string, chatId: string, userId: string, role: 'admin' | 'member') =>
    request(Chat, 'PATCH', `/chats/${chatId}/participants/${userId}`, { token, body: { role } }),
  /** Removes someone from a group; my own id: I leave it. */
  removeParticipant: (token: string, chatId: string, userId: string) =>
    request(NoContent, 'DELETE', `/chats/${chatId}/participants/${userId}`, { token }),
  messages: (
    token: string,
    chatId: string,
    cursor: { before?: string; after?: string; limit?: number } = {},
  ) => request(MessagePage, 'GET', `/chats/${chatId}/messages`, { token, query: cursor }),
  blockedUsers: (token: string) =>
    request(BlockedUsersResponse, 'GET', '/users/blocked', { token }),
  block: (token: string, userId: string) =>
    request(NoContent, 'PUT', `/users/${userId}/block`, { token }),
  unblock: (token: string, userId: string) =>
    request(NoContent, 'DELETE', `/users/${userId}/block`, { token }),
  /** Every message of the chat changed after version `since`, in version order. */
  changes: (token: string, chatId: string, since: number, limit?: number) =>
    request(ChangesPage, 'GET', `/chats/${chatId}/changes`, { token, query: { since, limit } }),
  editMessage: (token: string, chatId: string, messageId: string, content: string) =>
    request(Message, 'PATCH', `/chats/${chatId}/messages/${messageId}`, {
      token,
      body: { content },
    }),
  deleteMessage: (token: string, chatId: string, messageId: string) =>
    request(NoContent, 'DELETE', `/chats/${chatId}/messages/${messageId}`, { token }),
  messageEdits: (token: string, chatId: string, messageId: string) =>
    request(MessageEdits, 'GET', `/chats/${chatId}/messages/${messageId}/edits`, { token }),
  react: (token: string, chatId: string, messageId: string, emoji: string, op: 'add' | 'remove') =>
    request(
      NoContent,
      op === 'add' ? 'PUT' : 'DELETE',
      `/chats/${chatId}/messages/${messageId}/reactions/${encodeURIComponent(emoji)}`,
      { token },
    ),
  searchMessages: (
    token: string,
    query: { q: string; chatId?: string; before?: string; limit?: number },
  ) => request(SearchPage, 'GET', '/search/messages', { token, query }),
  chatSettings: (token: string, chatId: string, settings: { muted: boolean }) =>
    request(Chat, 'PATCH', `/chats/${chatId}/settings`, { token, body: settings }),
  iceServers: (token: string) =>
    request(IceServersResponse, 'GET', '/calls/ice-servers', { token }),
  uploadLimits: (token: string) => request(UploadLimits, 'GET', '/uploads/limits', { token }),
  /**
   * An attachment's bytes from its `url` or `thumbnail_url`, with the Authorization header,
   * which the server honours whatever the URL's signature says: signed URLs run out after 12 to
   * 24 hours, and a tab may stay open longer.
   */
  attachment: async (token: string, url: string): Promise<Blob> => {
    const response = await reach(url, { headers: { authorization: `Bearer ${token}` } });
    if (!response.ok) throw failure(response.status, await response.json().catch(() => null));
    return response.blob();
  },
};

/** Words a person can act on, for an error code from HTTP or a socket acknowledgement. */
export function describeError(code: ErrorCode | 'network' | 'timeout', message?: string): string {
  switch (code) {
    case 'rate_limited':
      return 'You are sending too fast. Wait a moment, then try again.';
    case 'forbidden':
      // The server's reasons are sentences for people ("this person does not accept messages
      // from you"): shown as they are.
      return message
        ? `${message.charAt(0).toUpperCase()}${message.slice(1)}.`
        : 'You are not allowed to do that here.';
    case 'unauthorized':
      return 'Your session has ended. Sign in again.';
    case 'not_found':
      return message ? `Not found: ${message}` : 'That no longer exists.';
    case 'conflict':
      return message ?? 'That already exists.';
    case 'validation_failed':
      return message ?? 'That input was not accepted.';
    case 'payload_too_large':
      return 'That is too large to send.';
    case 'unavailable':
      return 'The server is busy or restarting. Try again in a moment.';
    case 'network':
      return message ?? 'Cannot reach the server. Check your connection.';
    case 'timeout':
      return 'The server did not answer in time.';
    case 'internal':
      return 'Something went wrong on the server.';
  }
}
