import { z } from 'zod';
import { UserSummary } from '../models/user.js';
import { id, text } from '../primitives.js';

// One-to-one calls: Parley relays the WebRTC signalling (offer, answer, ICE candidates) between
// the two parties; the media flow between the browsers.

export const CallMedia = z.enum(['audio', 'video']);
export type CallMedia = z.infer<typeof CallMedia>;

/**
 * A session description's text (RFC 8866). The offer rides `call:invite`, the answer
 * `call:answer`: its type is the event's. A browser's video offer is a few KB; the bound keeps a
 * frame well under the 64 KiB limit.
 */
export const Sdp = text(1, 50_000);

/** An ICE candidate as `RTCIceCandidate.toJSON()` gives it; `candidate: ""` ends the trickle. */
export const IceCandidate = z.object({
  candidate: text(0, 2000),
  sdpMid: text(0, 64).nullable().optional(),
  sdpMLineIndex: z.number().int().min(0).max(1023).nullable().optional(),
  usernameFragment: text(0, 256).nullable().optional(),
});
export type IceCandidate = z.infer<typeof IceCandidate>;

/** Why a call ended, as `call:ended` tells it. */
export const CallEndReason = z.enum([
  'busy',
  'missed',
  'answered_elsewhere',
  'rejected',
  'hangup',
  'disconnected',
]);
export type CallEndReason = z.infer<typeof CallEndReason>;

// ---- client → server ----------------------------------------------------------------------

/** `callId` is the caller's choice (a fresh UUID); one used before is `conflict`. */
export const CallInvitePayload = z.object({
  chatId: id(),
  callId: id(),
  media: CallMedia,
  sdp: Sdp,
});
export type CallInvitePayload = z.infer<typeof CallInvitePayload>;

export const CallAnswerPayload = z.object({ callId: id(), sdp: Sdp });
export type CallAnswerPayload = z.infer<typeof CallAnswerPayload>;

export const CallCandidatePayload = z.object({ callId: id(), candidate: IceCandidate });
export type CallCandidatePayload = z.infer<typeof CallCandidatePayload>;

/** `call:reject` and `call:hangup`. */
export const CallRef = z.object({ callId: id() });
export type CallRef = z.infer<typeof CallRef>;

// ---- server → client ----------------------------------------------------------------------

export const CallIncomingEvent = z.object({
  callId: id(),
  chatId: id(),
  /** The caller. */
  from: UserSummary,
  media: CallMedia,
  /** The caller's offer. */
  sdp: z.string(),
});
export type CallIncomingEvent = z.infer<typeof CallIncomingEvent>;

export const CallAnsweredEvent = z.object({
  callId: id(),
  /** The callee's answer. */
  sdp: z.string(),
});
export type CallAnsweredEvent = z.infer<typeof CallAnsweredEvent>;

export const CallCandidateEvent = z.object({ callId: id(), candidate: IceCandidate });
export type CallCandidateEvent = z.infer<typeof CallCandidateEvent>;

export const CallEndedEvent = z.object({ callId: id(), reason: CallEndReason });
export type CallEndedEvent = z.infer<typeof CallEndedEvent>;
