import type { CallParty } from '../../services/calls.service.js';
import type { Services } from '../../services/index.js';
import { inOrderPerSocket, type Handlers } from '../handle.js';
import type { ParleySocket } from '../types.js';

type CallEvents = 'call:invite' | 'call:answer' | 'call:candidate' | 'call:reject' | 'call:hangup';

const partyOf = (socket: ParleySocket): CallParty => ({
  user: socket.data.user,
  socketId: socket.id,
  isLive: () => socket.connected,
});

/**
 * The call signalling. A socket's call events are taken one after another, in the order sent
 * (handlers otherwise run side by side): a caller's first candidates follow its invite, and a
 * callee's its answer, only once that is stored, and reach the other side after it.
 */
export function callHandlers(services: Services): Pick<Handlers, CallEvents> {
  const inOrder = inOrderPerSocket();
  return {
    'call:invite': (payload, socket) =>
      inOrder(socket, () => services.calls.invite(partyOf(socket), payload)),
    'call:answer': (payload, socket) =>
      inOrder(socket, () => services.calls.answer(partyOf(socket), payload)),
    'call:candidate': (payload, socket) =>
      inOrder(socket, () => services.calls.candidate(partyOf(socket), payload)),
    'call:reject': ({ callId }, socket) =>
      inOrder(socket, () => services.calls.reject(partyOf(socket), callId)),
    'call:hangup': ({ callId }, socket) =>
      inOrder(socket, () => services.calls.hangup(partyOf(socket), callId)),
  };
}
