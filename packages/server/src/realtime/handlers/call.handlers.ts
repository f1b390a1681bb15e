import type { Services } from '../../services/index.js';
import type { CallParty } from '../../services/calls.service.js';
import { handle, type HandlerContext } from '../handle.js';
import type { ParleySocket } from '../types.js';

/**
 * The call signalling. A socket's call events are taken one after another, in the order sent
 * (handlers otherwise run side by side): a caller's first candidates follow its invite, and a
 * callee's its answer, only once that is stored, and reach the other side after it.
 */
export function registerCallHandlers(
  socket: ParleySocket,
  ctx: HandlerContext,
  services: Services,
): void {
  const party: CallParty = {
    user: socket.data.user,
    socketId: socket.id,
    isLive: () => socket.connected,
  };
  let tail: Promise<unknown> = Promise.resolve();
  const inOrder = (work: () => Promise<void>): Promise<void> => {
    const next = tail.then(work, work);
    tail = next.catch(() => undefined);
    return next;
  };

  handle(socket, ctx, 'call:invite', (payload) =>
    inOrder(() => services.calls.invite(party, payload)),
  );
  handle(socket, ctx, 'call:answer', (payload) =>
    inOrder(() => services.calls.answer(party, payload)),
  );
  handle(socket, ctx, 'call:candidate', (payload) =>
    inOrder(() => services.calls.candidate(party, payload)),
  );
  handle(socket, ctx, 'call:reject', ({ callId }) =>
    inOrder(() => services.calls.reject(party, callId)),
  );
  handle(socket, ctx, 'call:hangup', ({ callId }) =>
    inOrder(() => services.calls.hangup(party, callId)),
  );
}
