// The ceiling the load benchmark compares Parley with: Socket.IO on the same machine with the
// same rooms, handshake, acknowledgements and fan-out as Parley's send path, and no database.
// A token is checked as Parley checks it (HS256, jose) but nothing is looked up: memberships
// come from the file the seed step wrote. It prints the `listening` line Parley prints.
//   PORT=0 JWT_SECRET=... MEMBERSHIPS=/tmp/m.json node --import tsx bench/relay/server.ts
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { jwtVerify } from 'jose';
import { Server } from 'socket.io';

const key = new TextEncoder().encode(process.env.JWT_SECRET ?? '');
/** userId -> the chats the user is in; and each user's public summary. */
const memberships = JSON.parse(readFileSync(process.env.MEMBERSHIPS ?? '', 'utf8')) as Record<
  string,
  { username: string; chats: string[] }
>;
const lastSeq = new Map<string, number>();

const http = createServer();
interface SocketData {
  userId: string;
  username: string;
}
type Ack = (answer: unknown) => void;
const io = new Server<
  {
    'message:send': (payload: unknown, ack: Ack) => void;
    'message:read': (payload: unknown, ack: Ack) => void;
  },
  { 'message:new': (message: unknown) => void; 'message:read': (event: unknown) => void },
  Record<string, never>,
  SocketData
>(http, { maxHttpBufferSize: 64 * 1024 });

io.use((socket, next) => {
  const auth = socket.handshake.auth as { token?: unknown };
  if (typeof auth.token !== 'string') return next(new Error('unauthorized'));
  jwtVerify(auth.token, key, { algorithms: ['HS256'] }).then(
    ({ payload }) => {
      const member = payload.sub ? memberships[payload.sub] : undefined;
      if (!member) return next(new Error('unauthorized'));
      socket.data = { userId: payload.sub!, username: member.username };
      void socket.join([`user:${payload.sub}`, ...member.chats.map((c) => `chat:${c}`)]);
      next();
    },
    () => next(new Error('unauthorized')),
  );
});

io.on('connection', (socket) => {
  const { userId, username } = socket.data;
  const chats = new Set(memberships[userId]?.chats);
  socket.on('message:send', (payload, ack) => {
    if (typeof ack !== 'function') return;
    const { chatId, content, clientMessageId } = payload as Record<string, unknown>;
    if (typeof chatId !== 'string' || typeof content !== 'string' || !chats.has(chatId)) {
      ack({ ok: false, error: { code: 'forbidden', message: 'not a participant' } });
      return;
    }
    const seq = (lastSeq.get(chatId) ?? 0) + 1;
    lastSeq.set(chatId, seq);
    const now = new Date().toISOString();
    // The shape of Parley's message, so that both encode and parse the same bytes.
    const message = {
      id: randomUUID(),
      chat_id: chatId,
      seq,
      sender_id: userId,
      sender: {
        id: userId,
        username,
        display_name: username,
        avatar_url: null,
      },
      content,
      message_type: 'text',
      client_message_id: clientMessageId ?? null,
      created_at: now,
      edited_at: null,
      deleted_at: null,
      version: seq,
      reply_to: null,
      reactions: [],
      mentions: [],
      attachments: [],
    };
    ack({ ok: true, message });
    io.to(`chat:${chatId}`).emit('message:new', message);
  });
  // A read as Parley answers one: to the room, with the seq the mark moved to (here the chat's
  // latest, which the reader has just been sent). It announces every read, where Parley skips one
  // whose mark did not move (reads overtaking each other): the relay never does less fan-out.
  socket.on('message:read', (payload, ack) => {
    if (typeof ack !== 'function') return;
    const { chatId, messageId } = payload as Record<string, unknown>;
    if (typeof chatId !== 'string' || typeof messageId !== 'string' || !chats.has(chatId)) {
      ack({ ok: false, error: { code: 'forbidden', message: 'not a participant' } });
      return;
    }
    ack({ ok: true });
    const seq = lastSeq.get(chatId) ?? 0;
    io.to(`chat:${chatId}`).emit('message:read', { messageId, userId, chatId, seq });
  });
});

http.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const { port } = http.address() as AddressInfo;
  console.log(JSON.stringify({ msg: 'listening', url: `http://127.0.0.1:${port}` }));
});
const stop = () => {
  void io.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
