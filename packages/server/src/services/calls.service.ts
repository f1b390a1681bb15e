import {
  formatDuration,
  type CallAnswerPayload,
  type CallCandidatePayload,
  type CallEndReason,
  type CallInvitePayload,
  type UserSummary,
} from '@parley/protocol';
import type { Logger } from 'pino';
import { conflict, notFound } from '../errors.js';
import type { ChatsRepository } from '../repositories/chats.repository.js';
import type { MessagesRepository } from '../repositories/messages.repository.js';
import { asCallee, asCallParty, calleeOf, type AccessPolicy } from './access.js';
import type { DomainEvents } from './events.js';
import type { CallRecord, CallStore, EndedCall } from './ports.js';

/** The socket an event came from, as the rules need to see it (transport-free). */
export interface CallParty {
  user: UserSummary;
  socketId: string;
  /** Still connected: a call stored after its socket went would outlive it. */
  isLive(): boolean;
}

/**
 * The line a call leaves in its chat: its length once it connected; "Missed call" when it rang
 * and nobody took it (the ring ran out, the caller gave up or went, the callee went); nothing for
 * a call declined or refused as busy.
 */
export function callLine(call: EndedCall, reason: CallEndReason): string | undefined {
  if (call.answeredAt !== null) {
    const kind = call.media === 'video' ? 'Video call' : 'Audio call';
    return `${kind}, ${formatDuration(call.endedAt - call.answeredAt)}`;
  }
  return reason === 'rejected' || reason === 'busy' ? undefined : 'Missed call';
}

/**
 * One-to-one calls in direct chats: who may ring whom, and each call's life (ringing, connected,
 * ended once). The state is the shared CallStore, so any process may take any step; this
 * process's timers only hurry the ring timeout, which the store lets fire once.
 */
export class CallsService {
  /** Ring timeouts of the calls this process started. */
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly store: CallStore,
    private readonly access: AccessPolicy,
    private readonly chats: ChatsRepository,
    private readonly messages: MessagesRepository,
    private readonly events: DomainEvents,
    private readonly ringMs: number,
    private readonly log: Logger,
  ) {}

  /**
   * Rings the other participant of a direct chat (who may: AccessPolicy.caller, then calleeOf);
   * a call id used before is `conflict`. A party already in a call makes it `busy`: an ended
   * call, told to the caller's socket, not a refusal.
   */
  async invite(party: CallParty, { chatId, callId, media, sdp }: CallInvitePayload): Promise<void> {
    await this.access.caller(chatId, party.user.id);
    const calleeId = calleeOf(await this.chats.othersIn(chatId, party.user.id));

    const call: CallRecord = {
      callId,
      chatId,
      media,
      caller: party.user,
      calleeId,
      callerSocket: party.socketId,
      calleeSocket: null,
      answeredAt: null,
    };
    const outcome = await this.store.invite(call, this.ringMs);
    if (outcome === 'conflict') throw conflict('this call id was used before');
    if (outcome === 'busy') {
      this.events.publish({
        type: 'CallEnded',
        callId,
        reason: 'busy',
        userIds: [],
        socketIds: [party.socketId],
      });
      return;
    }
    const timer = setTimeout(() => {
      this.timers.delete(callId);
      this.ended(this.store.end(callId, true), 'missed').catch(this.failed('ring timeout failed'));
    }, this.ringMs);
    timer.unref();
    this.timers.set(callId, timer);
    this.events.publish({
      type: 'CallRinging',
      calleeId,
      call: { callId, chatId, from: party.user, media, sdp },
    });
    // Gone while the call was stored: its disconnect looked for a call before there was one.
    if (!party.isLive()) await this.ended(this.store.end(callId), 'disconnected', party);
  }

  /** The callee takes the call on this socket; another of their sockets did already: `conflict`. */
  async answer(party: CallParty, { callId, sdp }: CallAnswerPayload): Promise<void> {
    const found = asCallee(await this.store.find(callId), party.user.id, 'answer');
    if (found.state === 'ended') throw conflict('the call has ended');
    if (found.state === 'connected') throw conflict('the call was answered on another device');
    const taken = await this.store.answer(callId, party.socketId);
    if ('refused' in taken) {
      if (taken.refused === 'missing') throw notFound('call');
      throw conflict(
        taken.refused === 'ended'
          ? 'the call has ended'
          : 'the call was answered on another device',
      );
    }
    this.stopTimer(callId);
    this.events.publish({
      type: 'CallAnswered',
      callId,
      sdp,
      callerSocket: taken.call.callerSocket,
      calleeId: taken.call.calleeId,
      calleeSocket: party.socketId,
      candidates: taken.candidates,
    });
    if (!party.isLive()) await this.ended(this.store.end(callId), 'disconnected', party);
  }

  /**
   * Passes a candidate to the other party's socket in the call, and no other; the caller's wait
   * for the socket that answers. One for a call that has ended is dropped (they trickle on for a
   * moment); one from a party's socket that is not in the call is `conflict`.
   */
  async candidate(party: CallParty, { callId, candidate }: CallCandidatePayload): Promise<void> {
    const found = asCallParty(await this.store.find(callId), party.user.id);
    if (found.state === 'ended') return;
    const where = await this.store.relay(callId, party.socketId, candidate);
    if (where === 'missing') throw notFound('call');
    if (where === 'elsewhere') throw conflict('the call is on another of your devices');
    if (typeof where === 'object') {
      this.events.publish({ type: 'CallCandidate', callId, candidate, to: where.to });
    }
  }

  /**
   * The callee declines a ringing call. One that ended already is fine (the decline crossed its
   * end); one that connected is `conflict` (it is hung up instead).
   */
  async reject(party: CallParty, callId: string): Promise<void> {
    const found = asCallee(await this.store.find(callId), party.user.id, 'decline');
    if (found.state === 'ended') return;
    if (found.state === 'connected') throw conflict('the call was answered; hang up instead');
    const ended = await this.ended(this.store.end(callId, true), 'rejected', party);
    if (!ended && (await this.store.find(callId))?.state === 'connected') {
      throw conflict('the call was answered; hang up instead');
    }
  }

  /** Either party ends the call, ringing or connected; one that ended already is fine. */
  async hangup(party: CallParty, callId: string): Promise<void> {
    const found = asCallParty(await this.store.find(callId), party.user.id);
    if (found.state === 'ended') return;
    await this.ended(this.store.end(callId), 'hangup', party);
  }

  /**
   * A socket went. Its call ends if it was a socket in the call; a ringing call ends too when it
   * was the callee's last socket anywhere (`last`), as nobody is left to answer.
   */
  async socketGone(user: UserSummary, socketId: string, last: boolean): Promise<void> {
    const callId = await this.store.callOf(user.id);
    if (!callId) return;
    const found = await this.store.find(callId);
    if (!found || found.state === 'ended') return;
    const party = { user, socketId };
    if (found.callerSocket === socketId || found.calleeSocket === socketId) {
      await this.ended(this.store.end(callId), 'disconnected', party);
    } else if (last && found.state === 'ringing' && found.calleeId === user.id) {
      await this.ended(this.store.end(callId, true), 'disconnected', party);
    }
  }

  /** Calls whose ring ran out with no process to time it, or whose party's process died. */
  async sweep(): Promise<void> {
    for (const { call, reason } of await this.store.sweep()) {
      await this.ended(Promise.resolve(call), reason);
    }
  }

  /** Forgets this process's ring timers (shutdown): the calls' sockets are gone by then. */
  clear(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  /**
   * After `ending` (a store step that ends the call, once): tells whoever must hear it and leaves
   * the call's line in the chat. Undefined when another step ended it first (and told them).
   * The other party hears it on every socket, and while it rang so do the callee's other sockets
   * (they are ringing); the socket that ended it (`by`) knows already. Without `by` (the ring ran
   * out, a process died) both parties hear it.
   */
  private async ended(
    ending: Promise<EndedCall | undefined>,
    reason: CallEndReason,
    by?: { user: UserSummary; socketId: string },
  ): Promise<EndedCall | undefined> {
    const call = await ending;
    if (!call) return undefined;
    this.stopTimer(call.callId);
    const callerId = call.caller.id;
    const userIds = new Set<string>();
    if (!by) {
      userIds.add(callerId).add(call.calleeId);
    } else {
      userIds.add(by.user.id === callerId ? call.calleeId : callerId);
      if (call.answeredAt === null) userIds.add(call.calleeId);
    }
    this.events.publish({
      type: 'CallEnded',
      callId: call.callId,
      reason,
      userIds: [...userIds],
      socketIds: [],
      ...(by && { exceptSocket: by.socketId }),
    });
    const content = callLine(call, reason);
    if (content) {
      const message = await this.messages.insertSystem(call.chatId, {
        sender: call.caller,
        content,
      });
      this.events.publish({ type: 'MessageCreated', message });
    }
    return call;
  }

  private stopTimer(callId: string): void {
    clearTimeout(this.timers.get(callId));
    this.timers.delete(callId);
  }

  private failed(what: string) {
    return (err: unknown) => this.log.error({ err }, what);
  }
}
