/**
 * The Origin allowlist for HTTP and the Socket.IO handshake alike. No Origin (a non-browser
 * client) is allowed; otherwise the origin must be the request's own host:port, or listed in
 * CORS_ORIGINS.
 */
export function originAllowed(
  origin: string | undefined,
  host: string | undefined,
  allowList: readonly string[],
): boolean {
  if (origin === undefined) return true;
  if (allowList.includes(origin) || allowList.includes('*')) return true;
  try {
    const url = new URL(origin);
    return host !== undefined && url.host.toLowerCase() === host.toLowerCase();
  } catch {
    return false; // "null" and other opaque origins
  }
}
