// One-to-one calls (issue 11): the signalling of shared/contract.md "Calls" between real
// socket.io clients, the call's lines in its chat, and the ICE servers with TURN REST
// credentials. The parties sit on different processes when the run gives REDIS_URL (three nodes
// on one PostgreSQL and Redis): each user's sockets go to nodes of their own, so every relay,
// answer and ring timeout here crosses processes there.
import { createHmac, randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type {
  Ack,
  CallEndedEvent,
  Chat,
  ErrorResponse,
  IceCandidate,
  IceServersResponse,
  Message,
  MessagePage,
} from '@parley/protocol';
import { ConfigError, loadConfig } from '../src/config.js';
import {
  api,
  closeSockets,
  connect,
  createDirect,
  createGroup,
  emitAck,
  record,
  registerUsers,
  settle,
  waitFor,
  type ClientSocket,
  type TestUser,
} from './helpers/client.js';
import { NODES_WITH_REDIS, startServer, type TestServer } from './helpers/server.js';

const TURN_SECRET = 'turn-shared-secret-for-tests';
/** Short enough to wait out, long enough for a loaded machine to answer the calls that do answer. */
const SHORT_RING_MS = 3000;

let server: TestServer;
/** The same, with a ring that runs out quickly. */
let ringing: TestServer;
beforeAll(async () => {
  [server, ringing] = await Promise.all([
    startServer({
      stunUrls: ['stun:stun.example.org:3478'],
      turnUrls: ['turn:turn.example.org:3478?transport=udp', 'turns:turn.example.org:5349'],
      turnSecret: TURN_SECRET,
    }),
    startServer({ callRingTimeoutMs: SHORT_RING_MS }),
  ]);
  // Two servers (three nodes each with REDIS_URL) start together: allow a loaded machine its time.
}, 180_000);
afterAll(() => Promise.all([server.close(), ringing.close()]));
afterEach(() => closeSockets());

const NOBODY = '0b7e6d5c-4a3b-4c2d-9e1f-a0b1c2d3e4f5';
const OFFER = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n';
const ANSWER = 'v=0\r\no=- 3 4 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n';
const candidate = (n: number): IceCandidate => ({
  candidate: `candidate:${n} 1 udp 2122260223 192.0.2.${n} 5${n}000 typ host`,
  sdpMid: '0',
  sdpMLineIndex: 0,
});

/** A socket of the user on node `node` (the same node when there is one). */
const on = (s: TestServer, user: TestUser, node: number) =>
  connect(s.nodeUrls[node % s.nodeUrls.length]!, user.token);

const invite = (socket: ClientSocket, chatId: string, extra: Record<string, unknown> = {}) => {
  const callId = randomUUID();
  const ack = emitAck(socket, 'call:invite', {
    chatId,
    callId,
    media: 'video',
    sdp: OFFER,
    ...extra,
  });
  return { callId, ack };
};
const codeOf = (ack: Ack) => (ack.ok ? 'ok' : ack.error.code);
const history = async (user: TestUser, chatId: string): Promise<Message[]> =>
  (await user.api.get<MessagePage>(`/chats/${chatId}/messages?limit=100`)).body.messages;
const systemLines = async (user: TestUser, chatId: string) =>
  (await history(user, chatId)).filter((m) => m.message_type === 'system').map((m) => m.content);
const endedWith = (callId: string) => (e: CallEndedEvent) => e.callId === callId;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Alice and Bob in a direct chat, Alice's socket on one node and Bob's two tabs on others. */
async function pair(s: TestServer = server) {
  const [alice, bob, carol] = await registerUsers(s.url, 3);
  const chat = await createDirect(alice, bob);
  const [aliceTab, bobTab1, bobTab2] = await Promise.all([
    on(s, alice, 0),
    on(s, bob, 1),
    on(s, bob, 2),
  ]);
  return { alice, bob, carol, chat, aliceTab, bobTab1, bobTab2 };
}

/** A call from Alice that Bob's first tab answered. */
async function connectedCall(s: TestServer = server, media: 'audio' | 'video' = 'video') {
  const p = await pair(s);
  const ringing1 = waitFor(p.bobTab1, 'call:incoming');
  const { callId, ack } = invite(p.aliceTab, p.chat.id, { media });
  expect(codeOf(await ack)).toBe('ok');
  await ringing1;
  const answered = waitFor(p.aliceTab, 'call:answered');
  // Bob's other tab stops ringing: heard before the test goes on, so that no test counts it.
  const elsewhere = waitFor(p.bobTab2, 'call:ended', endedWith(callId));
  expect(codeOf(await emitAck(p.bobTab1, 'call:answer', { callId, sdp: ANSWER }))).toBe('ok');
  await Promise.all([answered, elsewhere]);
  return { ...p, callId };
}

describe('call:invite and call:answer', () => {
  it('rings every tab of the callee; one answers, the caller gets its answer, the other tab stops ringing', async () => {
    const { alice, chat, aliceTab, bobTab1, bobTab2 } = await pair();
    const aliceIncoming = record(aliceTab, 'call:incoming');
    const rings = [waitFor(bobTab1, 'call:incoming'), waitFor(bobTab2, 'call:incoming')];
    const { callId, ack } = invite(aliceTab, chat.id);
    expect(await ack).toEqual({ ok: true });
    for (const incoming of await Promise.all(rings)) {
      expect(incoming).toEqual({
        callId,
        chatId: chat.id,
        from: {
          id: alice.user.id,
          username: alice.user.username,
          display_name: alice.user.display_name,
          avatar_url: alice.user.avatar_url,
        },
        media: 'video',
        sdp: OFFER,
      });
    }

    const tab1Ended = record(bobTab1, 'call:ended');
    const answered = waitFor(aliceTab, 'call:answered');
    const elsewhere = waitFor(bobTab2, 'call:ended');
    expect(await emitAck(bobTab1, 'call:answer', { callId, sdp: ANSWER })).toEqual({ ok: true });
    expect(await answered).toEqual({ callId, sdp: ANSWER });
    expect(await elsewhere).toEqual({ callId, reason: 'answered_elsewhere' });

    // The other tab's Accept, pressed too late, is refused: the call is taken.
    const late = await emitAck(bobTab2, 'call:answer', { callId, sdp: ANSWER });
    expect(codeOf(late)).toBe('conflict');
    await settle(aliceTab, bobTab1);
    expect(tab1Ended).toEqual([]);
    expect(aliceIncoming).toEqual([]);
  });

  it('refuses bad input, unknown chats and calls, strangers, a group, a blocked caller and a reused call id', async () => {
    const { alice, bob, carol, chat, aliceTab, bobTab1 } = await pair();
    const group = await createGroup(alice, [bob]);
    const carolTab = await on(server, carol, 0);
    const carolChat: Chat = await createDirect(carol, bob);

    // validation_failed: malformed payloads, and a group chat.
    const bad = [
      { chatId: chat.id, callId: 'not-a-uuid', media: 'video', sdp: OFFER },
      { chatId: chat.id, callId: randomUUID(), media: 'fax', sdp: OFFER },
      { chatId: chat.id, callId: randomUUID(), media: 'audio' },
      { chatId: chat.id, callId: randomUUID(), media: 'audio', sdp: '' },
      { chatId: chat.id, callId: randomUUID(), media: 'audio', sdp: 'x'.repeat(50_001) },
      { chatId: chat.id, callId: randomUUID(), media: 'audio', sdp: 'v=0\u0000' },
      null,
    ];
    for (const payload of bad) {
      expect(codeOf(await emitAck(aliceTab, 'call:invite', payload))).toBe('validation_failed');
    }
    expect(codeOf(await invite(aliceTab, group.id).ack)).toBe('validation_failed');
    for (const [event, payload] of [
      ['call:answer', { callId: randomUUID() }],
      ['call:candidate', { callId: randomUUID(), candidate: { candidate: 1 } }],
      ['call:reject', { callId: 'nope' }],
      ['call:hangup', {}],
    ] as const) {
      expect(codeOf(await emitAck(aliceTab, event, payload))).toBe('validation_failed');
    }

    // not_found: a chat, and a call, that do not exist.
    expect(codeOf(await invite(aliceTab, NOBODY).ack)).toBe('not_found');
    const unknown = randomUUID();
    for (const [event, payload] of [
      ['call:answer', { callId: unknown, sdp: ANSWER }],
      ['call:candidate', { callId: unknown, candidate: candidate(1) }],
      ['call:reject', { callId: unknown }],
      ['call:hangup', { callId: unknown }],
    ] as const) {
      expect(codeOf(await emitAck(aliceTab, event, payload))).toBe('not_found');
    }

    // forbidden: a chat the caller is not in; a call the user is no party to; the caller's own
    // Accept or Decline.
    expect(codeOf(await invite(aliceTab, carolChat.id).ack)).toBe('forbidden');
    const incoming = waitFor(bobTab1, 'call:incoming');
    const { callId, ack } = invite(aliceTab, chat.id);
    expect(codeOf(await ack)).toBe('ok');
    await incoming;
    for (const [event, payload] of [
      ['call:answer', { callId, sdp: ANSWER }],
      ['call:candidate', { callId, candidate: candidate(1) }],
      ['call:reject', { callId }],
      ['call:hangup', { callId }],
    ] as const) {
      expect(codeOf(await emitAck(carolTab, event, payload))).toBe('forbidden');
    }
    expect(codeOf(await emitAck(aliceTab, 'call:answer', { callId, sdp: ANSWER }))).toBe(
      'forbidden',
    );
    expect(codeOf(await emitAck(aliceTab, 'call:reject', { callId }))).toBe('forbidden');

    // conflict: the same call id again, even once that call is over.
    const again = await emitAck(aliceTab, 'call:invite', {
      chatId: chat.id,
      callId,
      media: 'audio',
      sdp: OFFER,
    });
    expect(codeOf(again)).toBe('conflict');
    expect(codeOf(await emitAck(aliceTab, 'call:hangup', { callId }))).toBe('ok');
    const reused = await emitAck(aliceTab, 'call:invite', {
      chatId: chat.id,
      callId,
      media: 'audio',
      sdp: OFFER,
    });
    expect(codeOf(reused)).toBe('conflict');

    // A call that ended answers its parties' late hang-ups and candidates calmly, but not an Accept.
    expect(codeOf(await emitAck(bobTab1, 'call:hangup', { callId }))).toBe('ok');
    expect(
      codeOf(await emitAck(bobTab1, 'call:candidate', { callId, candidate: candidate(2) })),
    ).toBe('ok');
    expect(codeOf(await emitAck(bobTab1, 'call:answer', { callId, sdp: ANSWER }))).toBe('conflict');

    // A caller Bob blocked cannot ring him (as they cannot open a direct chat with him).
    expect((await bob.api.request('PUT', `/users/${alice.user.id}/block`)).status).toBe(204);
    const bobRings = record(bobTab1, 'call:incoming');
    expect(codeOf(await invite(aliceTab, chat.id).ack)).toBe('forbidden');
    await settle(bobTab1);
    expect(bobRings).toEqual([]);
  });

  it('without an ack, a refused event comes back as the `error` event', async () => {
    const { aliceTab } = await pair();
    const error = waitFor(aliceTab, 'error');
    aliceTab.emit('call:hangup', { callId: randomUUID() });
    expect(await error).toMatchObject({ code: 'not_found' });
  });
});

describe('busy', () => {
  it('a caller who rings someone already in a call hears "busy", and the callee hears nothing of it', async () => {
    const { alice, bob, carol, chat, aliceTab, bobTab1, bobTab2 } = await pair();
    const carolChat = await createDirect(carol, bob);
    const carolTab = await on(server, carol, 2);
    const first = invite(aliceTab, chat.id);
    expect(codeOf(await first.ack)).toBe('ok');

    // Bob is being rung by Alice: Carol's call is busy, acked like any other.
    const bobRings = [record(bobTab1, 'call:incoming'), record(bobTab2, 'call:incoming')];
    const carolEnded = record(carolTab, 'call:ended');
    const busy = invite(carolTab, carolChat.id, { media: 'audio' });
    const heard = waitFor(carolTab, 'call:ended', endedWith(busy.callId));
    expect(await busy.ack).toEqual({ ok: true });
    expect(await heard).toEqual({ callId: busy.callId, reason: 'busy' });

    // Alice, in a call with Bob now, is busy for Carol too.
    const answered = waitFor(aliceTab, 'call:answered');
    expect(
      codeOf(await emitAck(bobTab1, 'call:answer', { callId: first.callId, sdp: ANSWER })),
    ).toBe('ok');
    await answered;
    const carolToAlice = await createDirect(carol, alice);
    const busyToo = invite(carolTab, carolToAlice.id);
    const heardToo = waitFor(carolTab, 'call:ended', endedWith(busyToo.callId));
    expect(codeOf(await busyToo.ack)).toBe('ok');
    expect(await heardToo).toEqual({ callId: busyToo.callId, reason: 'busy' });

    // A busy call id is used up.
    const reused = await emitAck(carolTab, 'call:invite', {
      chatId: carolChat.id,
      callId: busy.callId,
      media: 'audio',
      sdp: OFFER,
    });
    expect(codeOf(reused)).toBe('conflict');

    // Once Alice hangs up, Carol gets through.
    expect(codeOf(await emitAck(aliceTab, 'call:hangup', { callId: first.callId }))).toBe('ok');
    const rings = waitFor(bobTab2, 'call:incoming');
    const later = invite(carolTab, carolChat.id);
    expect(codeOf(await later.ack)).toBe('ok');
    expect((await rings).callId).toBe(later.callId);

    await settle(bobTab1, bobTab2, carolTab);
    for (const seen of bobRings) {
      expect(seen.map((c) => c.callId)).not.toContain(busy.callId);
    }
    expect(carolEnded.filter((e) => e.reason === 'busy')).toHaveLength(2);
  });
});

describe('call:candidate', () => {
  it("reaches only the other party's socket in the call; the caller's early ones wait for the answering tab", async () => {
    const { alice, chat, aliceTab, bobTab1, bobTab2 } = await pair();
    const aliceOtherTab = await on(server, alice, 1);
    const rings = waitFor(bobTab2, 'call:incoming');
    const { callId, ack } = invite(aliceTab, chat.id);
    expect(codeOf(await ack)).toBe('ok');
    await rings;
    const seen = {
      aliceTab: record(aliceTab, 'call:candidate'),
      aliceOtherTab: record(aliceOtherTab, 'call:candidate'),
      bobTab1: record(bobTab1, 'call:candidate'),
      bobTab2: record(bobTab2, 'call:candidate'),
    };

    // Trickled before anyone answered: held.
    for (const n of [1, 2]) {
      const sent = await emitAck(aliceTab, 'call:candidate', { callId, candidate: candidate(n) });
      expect(sent).toEqual({ ok: true });
    }
    const answered = waitFor(aliceTab, 'call:answered');
    const held = waitFor(
      bobTab2,
      'call:candidate',
      (c) => c.candidate.candidate === candidate(2).candidate,
    );
    expect(codeOf(await emitAck(bobTab2, 'call:answer', { callId, sdp: ANSWER }))).toBe('ok');
    await Promise.all([answered, held]);

    // Now straight through, both ways.
    const toBob = waitFor(
      bobTab2,
      'call:candidate',
      (c) => c.candidate.candidate === candidate(3).candidate,
    );
    expect(
      codeOf(await emitAck(aliceTab, 'call:candidate', { callId, candidate: candidate(3) })),
    ).toBe('ok');
    await toBob;
    const toAlice = waitFor(aliceTab, 'call:candidate');
    const endOfCandidates = { candidate: '', sdpMid: '0', sdpMLineIndex: 0 };
    expect(
      codeOf(await emitAck(bobTab2, 'call:candidate', { callId, candidate: endOfCandidates })),
    ).toBe('ok');
    expect(await toAlice).toEqual({ callId, candidate: endOfCandidates });

    // Other tabs of the parties are not in the call: theirs are refused.
    expect(
      codeOf(await emitAck(bobTab1, 'call:candidate', { callId, candidate: candidate(4) })),
    ).toBe('conflict');
    expect(
      codeOf(await emitAck(aliceOtherTab, 'call:candidate', { callId, candidate: candidate(5) })),
    ).toBe('conflict');

    await settle(aliceTab, aliceOtherTab, bobTab1, bobTab2);
    expect(seen.bobTab2.map((c) => c.candidate.candidate)).toEqual(
      [1, 2, 3].map((n) => candidate(n).candidate),
    );
    expect(seen.aliceTab).toHaveLength(1);
    expect(seen.bobTab1).toEqual([]);
    expect(seen.aliceOtherTab).toEqual([]);
  });
});

describe('the end of a call', () => {
  it("a declined call tells the caller and stops the callee's other tabs ringing, and leaves no line", async () => {
    const { chat, alice, aliceTab, bobTab1, bobTab2 } = await pair();
    const rings = waitFor(bobTab2, 'call:incoming');
    const { callId, ack } = invite(aliceTab, chat.id, { media: 'audio' });
    expect(codeOf(await ack)).toBe('ok');
    await rings;
    const toAlice = waitFor(aliceTab, 'call:ended');
    const toTab2 = waitFor(bobTab2, 'call:ended');
    const tab1Ended = record(bobTab1, 'call:ended');
    expect(await emitAck(bobTab1, 'call:reject', { callId })).toEqual({ ok: true });
    expect(await toAlice).toEqual({ callId, reason: 'rejected' });
    expect(await toTab2).toEqual({ callId, reason: 'rejected' });
    await settle(bobTab1);
    expect(tab1Ended).toEqual([]);
    expect(await systemLines(alice, chat.id)).toEqual([]);
  });

  it('a call that connected leaves its duration, minutes:seconds, in the chat, once', async () => {
    const { alice, bob, chat, callId, aliceTab, bobTab1, bobTab2 } = await connectedCall(
      server,
      'video',
    );
    const lines = [record(aliceTab, 'message:new'), record(bobTab1, 'message:new')];
    const aliceEnded = record(aliceTab, 'call:ended');
    await sleep(1100);
    const toBob = waitFor(bobTab1, 'call:ended');
    const line = waitFor(bobTab2, 'message:new');
    expect(await emitAck(aliceTab, 'call:hangup', { callId })).toEqual({ ok: true });
    expect(await toBob).toEqual({ callId, reason: 'hangup' });
    const message = await line;
    expect(message).toMatchObject({
      chat_id: chat.id,
      message_type: 'system',
      sender_id: alice.user.id,
    });
    // At least the second waited; how much more depends on the machine, not on the rules.
    expect(message.content).toMatch(/^Video call, 0:(0[1-9]|[1-5]\d)$/);

    // Bob's own hang-up crossed Alice's: nothing more happens.
    expect(await emitAck(bobTab1, 'call:hangup', { callId })).toEqual({ ok: true });
    await settle(aliceTab, bobTab1);
    expect(aliceEnded).toEqual([]);
    expect(lines.map((seen) => seen.length)).toEqual([1, 1]);
    expect(await systemLines(bob, chat.id)).toEqual([message.content]);
  });

  it('an audio call says so', async () => {
    const { bob, chat, callId, bobTab1, aliceTab } = await connectedCall(server, 'audio');
    const toAlice = waitFor(aliceTab, 'call:ended');
    expect(await emitAck(bobTab1, 'call:hangup', { callId })).toEqual({ ok: true });
    expect(await toAlice).toEqual({ callId, reason: 'hangup' });
    const [line] = await systemLines(bob, chat.id);
    expect(line).toMatch(/^Audio call, 0:\d\d$/);
  });

  it('the socket in the call going ends it once, with "disconnected" to the other party', async () => {
    const { bob, chat, callId, aliceTab, bobTab1, bobTab2 } = await connectedCall();
    const aliceEnded = record(aliceTab, 'call:ended');
    const aliceLines = record(aliceTab, 'message:new');
    const heard = waitFor(aliceTab, 'call:ended');
    const line = waitFor(aliceTab, 'message:new');
    // Bob's tab in the call goes, and his hang-up from it races its disconnect.
    bobTab1.emit('call:hangup', { callId });
    bobTab1.disconnect();
    const ended = await heard;
    expect(ended.callId).toBe(callId);
    expect(['hangup', 'disconnected']).toContain(ended.reason);
    expect((await line).content).toMatch(/^Video call, \d+:\d\d$/);
    // His other tab was never in the call, and his hang-up from it now changes nothing.
    expect(await emitAck(bobTab2, 'call:hangup', { callId })).toEqual({ ok: true });
    await sleep(300);
    await settle(aliceTab);
    expect(aliceEnded).toHaveLength(1);
    expect(aliceLines).toHaveLength(1);
    expect(await systemLines(bob, chat.id)).toHaveLength(1);
  });

  it("a call that rings ends when the callee has no socket left, or the caller's socket goes", async () => {
    const { alice, chat, aliceTab, bobTab1, bobTab2 } = await pair();
    const first = invite(aliceTab, chat.id);
    expect(codeOf(await first.ack)).toBe('ok');
    // One tab of Bob's going leaves the other ringing.
    const aliceEnded = record(aliceTab, 'call:ended');
    bobTab1.disconnect();
    await sleep(300);
    await settle(aliceTab);
    expect(aliceEnded).toEqual([]);
    const heard = waitFor(aliceTab, 'call:ended');
    bobTab2.disconnect();
    expect(await heard).toEqual({ callId: first.callId, reason: 'disconnected' });

    // Now the caller's socket goes while Bob's tab rings.
    const { bob, chat: chat2, aliceTab: caller, bobTab1: callee } = await pair();
    const rings = waitFor(callee, 'call:incoming');
    const second = invite(caller, chat2.id, { media: 'audio' });
    expect(codeOf(await second.ack)).toBe('ok');
    await rings;
    const calleeHeard = waitFor(callee, 'call:ended');
    caller.disconnect();
    expect(await calleeHeard).toEqual({ callId: second.callId, reason: 'disconnected' });
    // Both rang unanswered: the callee missed them.
    expect(await systemLines(alice, chat.id)).toEqual(['Missed call']);
    expect(await systemLines(bob, chat2.id)).toEqual(['Missed call']);
  });

  it('unanswered, a call is missed after CALL_RING_TIMEOUT: both parties hear it once, and the chat says "Missed call" once', async () => {
    const { alice, bob, chat, aliceTab, bobTab1, bobTab2 } = await pair(ringing);
    const ended = [aliceTab, bobTab1, bobTab2].map((s) => record(s, 'call:ended'));
    const lines = record(bobTab1, 'message:new');
    const missed = [aliceTab, bobTab1, bobTab2].map((s) => waitFor(s, 'call:ended'));
    const lineComes = waitFor(bobTab1, 'message:new');
    const { callId, ack } = invite(aliceTab, chat.id, { media: 'audio' });
    expect(codeOf(await ack)).toBe('ok');
    for (const event of await Promise.all(missed)) {
      expect(event).toEqual({ callId, reason: 'missed' });
    }
    const line = await lineComes;
    expect(line).toMatchObject({
      chat_id: chat.id,
      message_type: 'system',
      content: 'Missed call',
      sender_id: alice.user.id,
    });
    // The callee's Accept after the ring ran out is too late.
    expect(codeOf(await emitAck(bobTab1, 'call:answer', { callId, sdp: ANSWER }))).toBe('conflict');
    // Long enough for any other process's sweep to have found the ring over too, were it live.
    await sleep(SHORT_RING_MS);
    await settle(aliceTab, bobTab1, bobTab2);
    expect(ended.map((seen) => seen.length)).toEqual([1, 1, 1]);
    expect(lines).toHaveLength(1);
    expect(await systemLines(bob, chat.id)).toEqual(['Missed call']);
    // The caller sent the line: it counts as read for them, unread for the callee.
    const bobChat = (await bob.api.get<Chat>(`/chats/${chat.id}`)).body;
    expect(bobChat.unread_count).toBe(1);
  });

  it('an answered call is not missed when its ring time passes', async () => {
    const { callId, chat, bob, aliceTab, bobTab1 } = await connectedCall(ringing);
    const ended = record(aliceTab, 'call:ended');
    const bobEnded = record(bobTab1, 'call:ended');
    await sleep(SHORT_RING_MS + 500);
    await settle(aliceTab, bobTab1);
    expect(ended).toEqual([]);
    expect(bobEnded).toEqual([]);
    const toAlice = waitFor(aliceTab, 'call:ended');
    expect(codeOf(await emitAck(bobTab1, 'call:hangup', { callId }))).toBe('ok');
    expect(await toAlice).toEqual({ callId, reason: 'hangup' });
    const lines = await systemLines(bob, chat.id);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^Video call, 0:(0[1-9]|[1-5]\d)$/);
  });

  it('hang-ups, a decline and a disconnect racing each other end the call once', async () => {
    for (const answered of [false, true]) {
      const p = answered ? await connectedCall() : await pair();
      const callId =
        'callId' in p && typeof p.callId === 'string'
          ? p.callId
          : await (async () => {
              const rings = waitFor(p.bobTab1, 'call:incoming');
              const started = invite(p.aliceTab, p.chat.id);
              expect(codeOf(await started.ack)).toBe('ok');
              await rings;
              return started.callId;
            })();
      const ended = [p.aliceTab, p.bobTab2].map((s) => record(s, 'call:ended'));
      const acks = await Promise.all([
        emitAck(p.aliceTab, 'call:hangup', { callId }),
        emitAck(p.bobTab1, 'call:hangup', { callId }),
        emitAck(p.bobTab1, 'call:reject', { callId }),
        emitAck(p.bobTab2, 'call:hangup', { callId }),
      ]);
      // Each is either fine or, for a decline of a call that connected, refused.
      for (const ack of acks) expect(['ok', 'conflict']).toContain(codeOf(ack));
      p.bobTab1.disconnect();
      await sleep(300);
      await settle(p.aliceTab, p.bobTab2);
      // Whoever won, each socket heard of the end once at most, and someone other than the winner did.
      for (const seen of ended) expect(seen.length).toBeLessThanOrEqual(1);
      expect(ended.flat().length).toBeGreaterThanOrEqual(1);
      const lines = await systemLines(p.alice, p.chat.id);
      expect(lines).toHaveLength(1);
      if (answered) expect(lines[0]).toMatch(/^Video call, /);
    }
  });
});

describe('GET /api/calls/ice-servers', () => {
  it('hands out STUN_URLS, and TURN_URLS with TURN REST credentials that verify with the secret', async () => {
    const [alice] = await registerUsers(server.url, 1);
    const before = Math.floor(Date.now() / 1000);
    const res = await alice.api.request<IceServersResponse>('GET', '/calls/ice-servers');
    expect(res.status).toBe(200);
    const [stun, turn] = res.body.iceServers;
    expect(stun).toEqual({ urls: ['stun:stun.example.org:3478'] });
    expect(turn?.urls).toEqual([
      'turn:turn.example.org:3478?transport=udp',
      'turns:turn.example.org:5349',
    ]);
    const [expiry, userId] = (turn?.username ?? '').split(':');
    expect(userId).toBe(alice.user.id);
    // Valid for a day from now.
    expect(Number(expiry)).toBeGreaterThanOrEqual(before + 86_400);
    expect(Number(expiry)).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + 86_400);
    // What coturn computes with use-auth-secret and static-auth-secret.
    const expected = createHmac('sha1', TURN_SECRET)
      .update(turn?.username ?? '')
      .digest('base64');
    expect(turn?.credential).toBe(expected);
    expect(res.body.iceServers).toHaveLength(2);
  });

  it('is for signed-in users only, and empty when nothing is configured', async () => {
    const anonymous = await api(server.url).get<ErrorResponse>('/calls/ice-servers');
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.error.code).toBe('unauthorized');
    const [alice] = await registerUsers(ringing.url, 1);
    const none = await alice.api.get<IceServersResponse>('/calls/ice-servers');
    expect(none).toEqual({ status: 200, body: { iceServers: [] } });
  });

  it('is described in the OpenAPI document', async () => {
    const doc = await api(server.url).get<{ paths: Record<string, unknown> }>('/openapi.json');
    expect(Object.keys(doc.body.paths)).toContain('/api/calls/ice-servers');
  });
});

describe('calls configuration', () => {
  const base = { JWT_SECRET: 'x'.repeat(32), DATA_DIR: '/nonexistent-parley-test' };
  const refusal = (env: Record<string, string>) => {
    try {
      loadConfig({ ...base, ...env });
    } catch (err) {
      if (err instanceof ConfigError) return err.message;
      throw err;
    }
    throw new Error('accepted');
  };

  it('reads STUN_URLS, TURN_URLS, TURN_SECRET and CALL_RING_TIMEOUT, with their defaults', () => {
    const defaults = loadConfig(base);
    expect(defaults).toMatchObject({
      stunUrls: [],
      turnUrls: [],
      turnSecret: undefined,
      callRingTimeoutMs: 30_000,
    });
    const set = loadConfig({
      ...base,
      STUN_URLS: 'stun:a.example:3478, stuns:b.example',
      TURN_URLS: 'turn:t.example:3478?transport=tcp,turns:t.example:5349',
      TURN_SECRET: 's3cret',
      CALL_RING_TIMEOUT: '45',
    });
    expect(set).toMatchObject({
      stunUrls: ['stun:a.example:3478', 'stuns:b.example'],
      turnUrls: ['turn:t.example:3478?transport=tcp', 'turns:t.example:5349'],
      turnSecret: 's3cret',
      callRingTimeoutMs: 45_000,
    });
  });

  it('refuses URLs of the wrong kind, TURN without its secret, and a ring of no time', () => {
    expect(refusal({ STUN_URLS: 'https://stun.example' })).toMatch(/STUN_URLS/);
    expect(refusal({ TURN_URLS: 'stun:a.example', TURN_SECRET: 's' })).toMatch(/TURN_URLS/);
    expect(refusal({ TURN_URLS: 'turn:a.example' })).toMatch(/TURN_SECRET/);
    expect(refusal({ CALL_RING_TIMEOUT: '0' })).toMatch(/CALL_RING_TIMEOUT/);
    expect(refusal({ CALL_RING_TIMEOUT: 'soon' })).toMatch(/CALL_RING_TIMEOUT/);
  });
});

describe('several processes', () => {
  it('a call rung from one process is answered, relayed and hung up from others', async () => {
    // With REDIS_URL the server is three processes and each party's sockets sit on their own;
    // alone, it is one process, and this is the same call on it.
    const p = await pair();
    const rings = [waitFor(p.bobTab1, 'call:incoming'), waitFor(p.bobTab2, 'call:incoming')];
    const { callId, ack } = invite(p.aliceTab, p.chat.id);
    expect(codeOf(await ack)).toBe('ok');
    await Promise.all(rings);
    const elsewhere = waitFor(p.bobTab1, 'call:ended');
    const answered = waitFor(p.aliceTab, 'call:answered');
    expect(codeOf(await emitAck(p.bobTab2, 'call:answer', { callId, sdp: ANSWER }))).toBe('ok');
    expect(await elsewhere).toEqual({ callId, reason: 'answered_elsewhere' });
    await answered;
    const relayed = waitFor(p.aliceTab, 'call:candidate');
    expect(
      codeOf(await emitAck(p.bobTab2, 'call:candidate', { callId, candidate: candidate(7) })),
    ).toBe('ok');
    expect((await relayed).candidate).toEqual(candidate(7));
    const hungUp = waitFor(p.bobTab2, 'call:ended');
    expect(codeOf(await emitAck(p.aliceTab, 'call:hangup', { callId }))).toBe('ok');
    expect(await hungUp).toEqual({ callId, reason: 'hangup' });
    expect(await systemLines(p.bob, p.chat.id)).toHaveLength(1);
    if (process.env.REDIS_URL && process.env.DATABASE_URL)
      expect(server.nodes.length).toBe(NODES_WITH_REDIS);
  });
});
