// Direct HTTP calls for setting a scene quickly; what is under test goes through the browser.
import type { AuthResponse, Chat, Message } from '@parley/protocol';
import { expect } from 'vitest';
import { PASSWORD } from './browser.js';

async function call<T>(
  base: string,
  token: string | null,
  method: string,
  path: string,
  body?: unknown,
) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(`${base}/api${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  expect(response.ok, `${method} ${path} answered ${response.status}`).toBe(true);
  return (await response.json()) as T;
}

export const register = (base: string, username: string, displayName: string) =>
  call<AuthResponse>(base, null, 'POST', '/auth/register', {
    username,
    password: PASSWORD,
    displayName,
  });

export const createDirect = (base: string, token: string, userId: string) =>
  call<Chat>(base, token, 'POST', '/chats', { type: 'direct', userId });

export const createGroup = (
  base: string,
  token: string,
  name: string,
  participantIds: string[] = [],
) => call<Chat>(base, token, 'POST', '/chats', { type: 'group', name, participantIds });

export const postMessage = (
  base: string,
  token: string,
  chatId: string,
  content: string,
  clientMessageId?: string,
) => call<Message>(base, token, 'POST', `/chats/${chatId}/messages`, { content, clientMessageId });
