import type { ParleyServer, SocketData } from './types.js';

/**
 * Connection state recovery (with REDIS_URL) gives a socket that reconnects within two minutes its
 * rooms back and replays the packets it missed, before any middleware runs: the replay would reach
 * a token signed out meanwhile, or a user removed from a chat meanwhile. So a session is restored
 * only while it is what it was: its token still valid and its user's memberships unchanged
 * (`stillCurrent`). Otherwise the client connects afresh and catches up by `seq`, as it always
 * can; recovery is an optimisation, never the guarantee.
 */
export function guardRecovery(
  io: ParleyServer,
  stillCurrent: (data: SocketData) => Promise<boolean>,
): void {
  const adapter = io.of('/').adapter;
  const restore = adapter.restoreSession.bind(adapter);
  adapter.restoreSession = async (pid, offset) => {
    const session = await restore(pid, offset);
    // A session of an older server (or none) has no data to check: not restored.
    const data = session?.data as Partial<SocketData> | undefined;
    if (
      !session ||
      !data?.user ||
      !data.tokenId ||
      data.tokenVersion === undefined ||
      data.membershipVersion === undefined ||
      !data.expiresAt
    ) {
      return Promise.reject(new Error('no session to restore'));
    }
    if (!(await stillCurrent(data as SocketData))) {
      return Promise.reject(new Error('session no longer current'));
    }
    return session;
  };
}

/** Two minutes: a reload or a network change; longer, and catching up by `seq` is as cheap. */
export const RECOVERY_WINDOW_MS = 2 * 60 * 1000;
