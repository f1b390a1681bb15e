import { createHmac } from 'node:crypto';
import type { IceServer } from '@parley/protocol';

/** How long a TURN credential works: a day, long enough for any call started with it. */
export const TURN_CREDENTIAL_TTL_SECONDS = 24 * 3600;

/**
 * The ICE servers a calling client uses. TURN relays media for anyone who holds a credential, so
 * each user gets their own, short-lived one: the TURN REST kind that coturn checks with
 * `use-auth-secret` (username `<expiry>:<userId>`, password base64 HMAC-SHA1 of the username
 * under the shared secret), which no request to Parley's database needs to renew.
 */
export class IceServersService {
  constructor(
    private readonly config: {
      stunUrls: readonly string[];
      turnUrls: readonly string[];
      turnSecret: string | undefined;
    },
  ) {}

  forUser(userId: string, now = new Date()): IceServer[] {
    const servers: IceServer[] = [];
    const { stunUrls, turnUrls, turnSecret } = this.config;
    if (stunUrls.length > 0) servers.push({ urls: [...stunUrls] });
    if (turnUrls.length > 0 && turnSecret) {
      const expiry = Math.floor(now.getTime() / 1000) + TURN_CREDENTIAL_TTL_SECONDS;
      const username = `${expiry}:${userId}`;
      const credential = createHmac('sha1', turnSecret).update(username).digest('base64');
      servers.push({ urls: [...turnUrls], username, credential });
    }
    return servers;
  }
}
