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
  if (host === undefined) return false;
  try {
    const url = new URL(origin);
    // The Host read as a URL of the origin's scheme, so that both drop a default port alike
    // (`Host: chat.example.com:80` is `http://chat.example.com`) and compare lowercased.
    return new URL(`${url.protocol}//${host}`).host === url.host;
  } catch {
    return false; // "null" and other opaque origins
  }
}
