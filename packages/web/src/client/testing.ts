// Test doubles for the client's modules (used by the *.test.ts files beside them only): a socket
// that records what the client emits and lets a test play the server's events, and a `fetch`
// that answers the REST calls a test routes.
import type { Me } from '@parley/protocol';
import { vi } from 'vitest';
import type { ParleySocket } from '../socket.js';
import { Session } from './session.js';
import { Store } from './store.js';

type Listener = (...args: unknown[]) => void;
type AckAnswer = Record<string, unknown> | undefined;

export interface Emitted {
  event: string;
  payload: unknown;
}

export class FakeSocket {
  connected = false;
  active = false;
  readonly emitted: Emitted[] = [];
  private readonly listeners = new Map<string, Listener[]>();
  /** How the "server" answers a client event's ack; none: the ack never comes. */
  readonly answers = new Map<string, (payload: unknown) => AckAnswer>();

  on(event: string, listener: Listener): this {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), listener]);
    return this;
  }

  emit(event: string, payload: unknown, ack?: (answer: unknown) => void): this {
    this.emitted.push({ event, payload });
    const answer = this.answers.get(event);
    if (answer && ack) {
      const value = answer(payload);
      if (value !== undefined) queueMicrotask(() => ack(value));
    }
    return this;
  }

  connect(): this {
    return this;
  }

  disconnect(): this {
    this.connected = false;
    return this;
  }

  removeAllListeners(): this {
    this.listeners.clear();
    return this;
  }

  /** The server sends an event (or socket.io reports one: connect, disconnect, ...). */
  serverEmit(event: string, ...args: unknown[]): void {
    if (event === 'connect') this.connected = true;
    if (event === 'disconnect') this.connected = false;
    for (const l of this.listeners.get(event) ?? []) l(...args);
  }

  sent(event: string): unknown[] {
    return this.emitted.filter((e) => e.event === event).map((e) => e.payload);
  }

  asSocket(): ParleySocket {
    return this as unknown as ParleySocket;
  }
}

export interface Call {
  method: string;
  path: string;
  query: URLSearchParams;
  body: unknown;
}

type Handler = (
  call: Call,
) => { status: number; body?: unknown } | Promise<{ status: number; body?: unknown }>;

/** Stands in for `fetch`: routes `METHOD /api/path` to handlers; anything else is a 404. */
export class FakeServer {
  readonly calls: Call[] = [];
  private readonly routes: { method: string; path: RegExp; handler: Handler }[] = [];

  route(method: string, path: RegExp, handler: Handler): this {
    this.routes.unshift({ method, path, handler });
    return this;
  }

  install(): void {
    vi.stubGlobal('fetch', async (input: string, init: RequestInit = {}) => {
      const url = new URL(input, 'http://parley.test');
      const call: Call = {
        method: init.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        body: typeof init.body === 'string' ? (JSON.parse(init.body) as unknown) : undefined,
      };
      this.calls.push(call);
      const route = this.routes.find((r) => r.method === call.method && r.path.test(call.path));
      const answer = route
        ? await route.handler(call)
        : { status: 404, body: { error: { code: 'not_found', message: 'no such route' } } };
      return new Response(answer.status === 204 ? null : JSON.stringify(answer.body ?? null), {
        status: answer.status,
        headers: { 'content-type': 'application/json' },
      });
    });
  }

  called(method: string, path: RegExp): Call[] {
    return this.calls.filter((c) => c.method === method && path.test(c.path));
  }
}

/** A session over a fake socket, for one module under test. */
export function fakeSession(me: Me) {
  const socket = new FakeSocket();
  const store = new Store(me);
  const ended = vi.fn();
  const session = new Session('token', store, socket.asSocket(), ended);
  return { socket, store, session, ended };
}

/** Lets pending promises and microtasks (acks, fetch answers) run. */
export const settle = async (rounds = 10): Promise<void> => {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setTimeout(r, 0));
};
