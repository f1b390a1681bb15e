// Text both sides write alike: the server in a call's chat line, the client on the call's clock,
// so that the two never read differently for the same call.

/** A call's length as minutes:seconds, "3:05": whole seconds, minutes not capped at 59. */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
}
