// One-to-one calls: the WebRTC side of the server's signalling (docs/API.md "Calls"). A call has
// its own little store, apart from the chat state: it holds live objects (the peer connection,
// media streams) and changes on its own clock, and only the call view reads it.
import {
  CallAnsweredEvent,
  CallCandidateEvent,
  CallEndedEvent,
  CallIncomingEvent,
  type Ack,
  type CallEndReason,
  type CallMedia,
  type ClientToServerEvents,
  type IceCandidate,
  type UserSummary,
} from '@parley/protocol';
import { api } from '../api.js';
import { emitWithAck, type ParleySocket, type TimedOut } from '../socket.js';
import { refusalText } from './errors.js';

/** The other side of a call, as the call view names them. */
export interface Peer {
  id: string;
  name: string;
}

export type CallState =
  | { phase: 'idle' }
  /** I rang them; waiting for an answer. */
  | { phase: 'outgoing'; callId: string; chatId: string; peer: Peer; media: CallMedia }
  /** They ring me: the Incoming call dialog. */
  | { phase: 'incoming'; callId: string; chatId: string; from: UserSummary; media: CallMedia }
  /** Answered, on both sides; `since` is when (for the duration shown). */
  | {
      phase: 'active';
      callId: string;
      chatId: string;
      peer: Peer;
      media: CallMedia;
      since: number;
      connection: RTCPeerConnectionState;
      muted: boolean;
      cameraOff: boolean;
    };

export interface CallMediaStreams {
  local: MediaStream | null;
  remote: MediaStream | null;
}

const ACK_MS = 10_000;

type CallEvent = 'call:invite' | 'call:answer' | 'call:candidate' | 'call:reject' | 'call:hangup';

/** Why a call ended, in words, for the one who did not end it. */
export function endedText(reason: CallEndReason, peer: string): string | null {
  switch (reason) {
    case 'busy':
      return `${peer} is in another call.`;
    case 'missed':
      return `No answer from ${peer}.`;
    case 'rejected':
      return `${peer} declined the call.`;
    case 'hangup':
      return `${peer} hung up.`;
    case 'disconnected':
      return `The call with ${peer} was cut off.`;
    case 'answered_elsewhere':
      return null; // this person took it in another tab
  }
}

interface Live {
  callId: string;
  pc: RTCPeerConnection | null;
  local: MediaStream | null;
  remote: MediaStream;
  /** Their candidates that came before their description: added once it is set. */
  early: IceCandidate[];
  /** My candidates found before the invite or answer went out: sent right after it. */
  unsent: IceCandidate[];
  signalled: boolean;
  /** The caller's offer, for the callee to answer. */
  offer?: string;
}

/**
 * The call of this tab: ringing someone, being rung, or in a call. WebRTC as browsers expect it:
 * the ICE servers from the API, trickle ICE over `call:candidate`, one offer (the caller's) and
 * one answer. Roles are fixed (the callee is the polite side): with no renegotiation the two
 * offers of "perfect negotiation" glare cannot cross, and a second invite between the same two
 * people is refused as busy by the server. Mute and camera off disable the tracks, which needs no
 * new offer.
 */
export class Calls {
  private state: CallState = { phase: 'idle' };
  private live: Live | null = null;
  private readonly listeners = new Set<() => void>();
  private streams: CallMediaStreams = { local: null, remote: null };

  constructor(
    private readonly socket: ParleySocket,
    /** The session's token now: a password change replaces it while the client runs. */
    private readonly token: () => string,
    private readonly tell: (text: string) => void,
  ) {}

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getState = (): CallState => this.state;

  getStreams = (): CallMediaStreams => this.streams;

  /**
   * Hears the server's call events; returns what ends this tab's call when the session stops
   * (the session's socket, and the listeners with it, goes then too).
   */
  listen(): () => void {
    this.socket.on('call:incoming', (raw: unknown) => this.incoming(raw));
    this.socket.on('call:answered', (raw: unknown) => void this.answered(raw));
    this.socket.on('call:candidate', (raw: unknown) => void this.candidate(raw));
    this.socket.on('call:ended', (raw: unknown) => this.ended(raw));
    return () => this.close();
  }

  /** Rings the other person of a direct chat. */
  async start(chatId: string, peer: Peer, media: CallMedia): Promise<void> {
    if (this.state.phase !== 'idle') return;
    const callId = crypto.randomUUID();
    const live = this.begin(callId);
    this.set({ phase: 'outgoing', callId, chatId, peer, media });
    try {
      const pc = await this.connect(live, media);
      if (this.live !== live) return;
      await pc.setLocalDescription(await pc.createOffer());
      if (this.live !== live) return;
      const ack = await this.emit('call:invite', {
        chatId,
        callId,
        media,
        sdp: pc.localDescription?.sdp ?? '',
      });
      if (!ack.ok) throw new Error(refusalText(ack));
      this.signalled(live);
    } catch (err) {
      if (this.live !== live) return;
      this.close();
      this.tell(`Could not call: ${reason(err)}`);
    }
  }

  /** Accept, in the Incoming call dialog. */
  async accept(): Promise<void> {
    const s = this.state;
    const live = this.live;
    if (s.phase !== 'incoming' || !live || live.offer === undefined) return;
    const peer = { id: s.from.id, name: s.from.display_name };
    this.set({
      phase: 'active',
      callId: s.callId,
      chatId: s.chatId,
      peer,
      media: s.media,
      since: Date.now(),
      connection: 'new',
      muted: false,
      cameraOff: false,
    });
    try {
      const pc = await this.connect(live, s.media);
      if (this.live !== live) return;
      await pc.setRemoteDescription({ type: 'offer', sdp: live.offer });
      await this.addEarly(live);
      await pc.setLocalDescription(await pc.createAnswer());
      if (this.live !== live) return;
      const ack = await this.emit('call:answer', {
        callId: s.callId,
        sdp: pc.localDescription?.sdp ?? '',
      });
      if (!ack.ok) throw new Error(refusalText(ack));
      this.signalled(live);
    } catch (err) {
      if (this.live !== live) return;
      this.close();
      this.tell(`Could not answer: ${reason(err)}`);
    }
  }

  /** Decline, in the Incoming call dialog. */
  decline(): void {
    if (this.state.phase !== 'incoming') return;
    void this.emit('call:reject', { callId: this.state.callId });
    this.close();
  }

  /** Hang up: ends a call ringing out or in progress. */
  hangUp(): void {
    if (this.state.phase !== 'outgoing' && this.state.phase !== 'active') return;
    void this.emit('call:hangup', { callId: this.state.callId });
    this.close();
  }

  toggleMute(): void {
    if (this.state.phase !== 'active') return;
    const muted = !this.state.muted;
    for (const track of this.live?.local?.getAudioTracks() ?? []) track.enabled = !muted;
    this.set({ ...this.state, muted });
  }

  toggleCamera(): void {
    if (this.state.phase !== 'active') return;
    const cameraOff = !this.state.cameraOff;
    for (const track of this.live?.local?.getVideoTracks() ?? []) track.enabled = !cameraOff;
    this.set({ ...this.state, cameraOff });
  }

  // ---- server events ---------------------------------------------------------------------------

  private incoming(raw: unknown): void {
    const parsed = CallIncomingEvent.safeParse(raw);
    if (!parsed.success) return;
    const { callId, chatId, from, media, sdp } = parsed.data;
    // In a call already: the server refuses a second as busy; one more is ignored.
    if (this.state.phase !== 'idle') return;
    const live = this.begin(callId);
    live.offer = sdp;
    this.set({ phase: 'incoming', callId, chatId, from, media });
  }

  private async answered(raw: unknown): Promise<void> {
    const parsed = CallAnsweredEvent.safeParse(raw);
    const s = this.state;
    const live = this.live;
    if (!parsed.success || s.phase !== 'outgoing' || live?.callId !== parsed.data.callId) return;
    this.set({
      phase: 'active',
      callId: s.callId,
      chatId: s.chatId,
      peer: s.peer,
      media: s.media,
      since: Date.now(),
      connection: live.pc?.connectionState ?? 'new',
      muted: false,
      cameraOff: false,
    });
    try {
      await live.pc?.setRemoteDescription({ type: 'answer', sdp: parsed.data.sdp });
      await this.addEarly(live);
    } catch (err) {
      if (this.live !== live) return;
      this.hangUp();
      this.tell(`The call failed: ${reason(err)}`);
    }
  }

  private async candidate(raw: unknown): Promise<void> {
    const parsed = CallCandidateEvent.safeParse(raw);
    const live = this.live;
    if (!parsed.success || live?.callId !== parsed.data.callId) return;
    const { candidate } = parsed.data;
    if (!live.pc?.remoteDescription) {
      live.early.push(candidate);
      return;
    }
    // A candidate the browser cannot use is no reason to end the call: others may work.
    await live.pc.addIceCandidate(candidate).catch(() => undefined);
  }

  private ended(raw: unknown): void {
    const parsed = CallEndedEvent.safeParse(raw);
    const s = this.state;
    if (!parsed.success || s.phase === 'idle' || s.callId !== parsed.data.callId) return;
    const peer = s.phase === 'incoming' ? s.from.display_name : s.peer.name;
    this.close();
    const text = s.phase === 'incoming' ? null : endedText(parsed.data.reason, peer);
    if (text) this.tell(text);
  }

  // ---- plumbing --------------------------------------------------------------------------------

  private begin(callId: string): Live {
    this.close();
    const live: Live = {
      callId,
      pc: null,
      local: null,
      remote: new MediaStream(),
      early: [],
      unsent: [],
      signalled: false,
    };
    this.live = live;
    return live;
  }

  /** The microphone (and camera), and a peer connection that trickles its candidates. */
  private async connect(live: Live, media: CallMedia): Promise<RTCPeerConnection> {
    // Browsers offer no camera or microphone to a page served over plain HTTP (but localhost).
    if (!('mediaDevices' in navigator)) {
      throw new Error('this page can use no camera or microphone: it must be served over HTTPS');
    }
    const [{ iceServers }, local] = await Promise.all([
      api.iceServers(this.token()),
      navigator.mediaDevices.getUserMedia({ audio: true, video: media === 'video' }),
    ]);
    if (this.live !== live) {
      for (const track of local.getTracks()) track.stop();
      throw new Error('the call ended');
    }
    const pc = new RTCPeerConnection({ iceServers });
    live.pc = pc;
    live.local = local;
    for (const track of local.getTracks()) pc.addTrack(track, local);
    pc.ontrack = (event) => {
      live.remote.addTrack(event.track);
      this.publishStreams(live);
    };
    pc.onicecandidate = (event) => {
      if (!event.candidate) return;
      const candidate = event.candidate.toJSON() as IceCandidate;
      if (live.signalled) this.sendCandidate(live, candidate);
      else live.unsent.push(candidate);
    };
    pc.onconnectionstatechange = () => {
      if (this.live !== live || this.state.phase !== 'active') return;
      this.set({ ...this.state, connection: pc.connectionState });
    };
    this.publishStreams(live);
    return pc;
  }

  /** The invite or answer is out: the candidates found meanwhile follow it. */
  private signalled(live: Live): void {
    live.signalled = true;
    for (const candidate of live.unsent.splice(0)) this.sendCandidate(live, candidate);
  }

  private sendCandidate(live: Live, candidate: IceCandidate): void {
    void this.emit('call:candidate', { callId: live.callId, candidate });
  }

  private async addEarly(live: Live): Promise<void> {
    for (const candidate of live.early.splice(0)) {
      await live.pc?.addIceCandidate(candidate).catch(() => undefined);
    }
  }

  private publishStreams(live: Live): void {
    this.streams = { local: live.local, remote: live.remote };
    this.changed();
  }

  /** Stops the media and the connection, and shows nothing any more. */
  private close(): void {
    const live = this.live;
    this.live = null;
    if (live) {
      live.pc?.close();
      for (const track of live.local?.getTracks() ?? []) track.stop();
    }
    this.streams = { local: null, remote: null };
    this.set({ phase: 'idle' });
  }

  private set(state: CallState): void {
    this.state = state;
    this.changed();
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }

  private emit<E extends CallEvent>(
    event: E,
    payload: Parameters<ClientToServerEvents[E]>[0],
  ): Promise<Ack | TimedOut> {
    return emitWithAck(this.socket, event, payload, ACK_MS);
  }
}

const reason = (err: unknown): string => {
  if (err instanceof DOMException && err.name === 'NotAllowedError') {
    return 'the browser was not allowed to use the microphone or camera';
  }
  return err instanceof Error ? err.message : String(err);
};
