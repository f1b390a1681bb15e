import type { IceCandidate } from '@parley/protocol';
import type { CallRecord, CallStore, EndedCall, FoundCall } from './ports.js';

/** How long an ended call's id stays taken (and its parties known): a day. */
export const CALL_TOMBSTONE_MS = 24 * 3600 * 1000;
/** The caller's candidates kept while a call rings: a browser gathers a handful per interface. */
export const HELD_CANDIDATES = 64;

interface LiveCall extends CallRecord {
  held: IceCandidate[];
}

/**
 * The calls of one server process alone. Every method runs to its end without awaiting, so each
 * transition is atomic against the others (one event loop): a call ends once.
 */
export class InProcessCalls implements CallStore {
  private readonly live = new Map<string, LiveCall>();
  private readonly ended = new Map<string, { callerId: string; calleeId: string; at: number }>();
  /** User -> the call they are in. */
  private readonly users = new Map<string, string>();

  invite(call: CallRecord): Promise<'created' | 'busy' | 'conflict'> {
    this.forgetOld();
    if (this.live.has(call.callId) || this.ended.has(call.callId)) {
      return Promise.resolve('conflict');
    }
    if (this.users.has(call.caller.id) || this.users.has(call.calleeId)) {
      this.ended.set(call.callId, {
        callerId: call.caller.id,
        calleeId: call.calleeId,
        at: Date.now(),
      });
      return Promise.resolve('busy');
    }
    this.live.set(call.callId, { ...call, calleeSocket: null, answeredAt: null, held: [] });
    this.users.set(call.caller.id, call.callId);
    this.users.set(call.calleeId, call.callId);
    return Promise.resolve('created');
  }

  find(callId: string): Promise<FoundCall | undefined> {
    const call = this.live.get(callId);
    if (call) {
      const { held: _held, ...record } = call;
      return Promise.resolve({ ...record, state: call.calleeSocket ? 'connected' : 'ringing' });
    }
    const gone = this.ended.get(callId);
    return Promise.resolve(
      gone && { state: 'ended', callerId: gone.callerId, calleeId: gone.calleeId },
    );
  }

  answer(
    callId: string,
    socketId: string,
  ): Promise<
    | { call: CallRecord; candidates: IceCandidate[] }
    | { refused: 'connected' | 'ended' | 'missing' }
  > {
    const call = this.live.get(callId);
    if (!call) return Promise.resolve({ refused: this.ended.has(callId) ? 'ended' : 'missing' });
    if (call.calleeSocket) return Promise.resolve({ refused: 'connected' });
    call.calleeSocket = socketId;
    call.answeredAt = Date.now();
    const candidates = call.held.splice(0);
    const { held: _held, ...record } = call;
    return Promise.resolve({ call: record, candidates });
  }

  relay(
    callId: string,
    socketId: string,
    candidate: IceCandidate,
  ): Promise<{ to: string } | 'held' | 'ended' | 'elsewhere' | 'missing'> {
    const call = this.live.get(callId);
    if (!call) return Promise.resolve(this.ended.has(callId) ? 'ended' : 'missing');
    if (socketId === call.callerSocket) {
      if (call.calleeSocket) return Promise.resolve({ to: call.calleeSocket });
      if (call.held.length < HELD_CANDIDATES) call.held.push(candidate);
      return Promise.resolve('held');
    }
    if (socketId === call.calleeSocket) return Promise.resolve({ to: call.callerSocket });
    return Promise.resolve('elsewhere');
  }

  end(callId: string, ringingOnly = false): Promise<EndedCall | undefined> {
    const call = this.live.get(callId);
    if (!call || (ringingOnly && call.calleeSocket)) return Promise.resolve(undefined);
    this.live.delete(callId);
    for (const userId of [call.caller.id, call.calleeId]) {
      if (this.users.get(userId) === callId) this.users.delete(userId);
    }
    const endedAt = Date.now();
    this.ended.set(callId, { callerId: call.caller.id, calleeId: call.calleeId, at: endedAt });
    const { held: _held, ...record } = call;
    return Promise.resolve({ ...record, endedAt });
  }

  callOf(userId: string): Promise<string | undefined> {
    return Promise.resolve(this.users.get(userId));
  }

  /** One process never outlives itself, and its own timers end its calls' rings. */
  sweep(): Promise<{ call: EndedCall; reason: 'missed' | 'disconnected' }[]> {
    return Promise.resolve([]);
  }

  /** Tombstones older than a day go (Maps keep insertion order: the oldest come first). */
  private forgetOld(): void {
    const before = Date.now() - CALL_TOMBSTONE_MS;
    for (const [callId, { at }] of this.ended) {
      if (at >= before) break;
      this.ended.delete(callId);
    }
  }
}
