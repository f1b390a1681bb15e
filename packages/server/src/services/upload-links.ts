import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Attachment } from '@parley/protocol';
import type { AttachmentRecord } from '../repositories/mappers.js';

/** Which bytes of an attachment a URL fetches. */
export type Variant = 'original' | 'thumbnail';

/**
 * URLs are signed for whole windows of this length and stay valid one more, so one is good for
 * 12 to 24 hours, and every message read within a window carries the same URL (a browser's cache
 * keeps an image across reloads, and a broadcast is one object for every recipient).
 */
const WINDOW_SECONDS = 12 * 3600;

/**
 * Signed, expiring URLs for attachments: `exp` (Unix seconds) and `sig` (HMAC-SHA256 of the id,
 * the variant and `exp` under a key derived from the server's secret, so that no token can be
 * passed off as one). Anyone holding one may fetch until it expires, as the contract has it for
 * an `<img>`; a client past that reads the messages again (fresh URLs) or sends its token.
 */
export class UploadLinks {
  private readonly key: Buffer;

  constructor(
    secret: string,
    private readonly now: () => number = Date.now,
  ) {
    this.key = createHmac('sha256', secret).update('parley upload links v1').digest();
  }

  /** The wire object, with URLs good for at least 12 hours. */
  readonly attachment = (r: AttachmentRecord): Attachment => {
    const exp = (Math.floor(this.now() / 1000 / WINDOW_SECONDS) + 2) * WINDOW_SECONDS;
    return {
      id: r.id,
      name: r.name,
      size: r.size,
      mime: r.mime,
      kind: r.kind,
      width: r.kind === 'image' ? r.width : null,
      height: r.kind === 'image' ? r.height : null,
      url: this.url(r.id, 'original', exp),
      thumbnail_url: r.thumbnail ? this.url(r.id, 'thumbnail', exp) : null,
    };
  };

  /** True when `sig` signs this attachment's variant until `exp`, and `exp` has not passed. */
  verify(id: string, variant: Variant, exp: string | undefined, sig: string | undefined): boolean {
    if (!exp || !sig || !/^\d{1,12}$/.test(exp)) return false;
    if (Number(exp) * 1000 <= this.now()) return false;
    const expected = this.sign(id, variant, exp);
    const given = Buffer.from(sig);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  private url(id: string, variant: Variant, exp: number): string {
    const path = variant === 'thumbnail' ? `/api/uploads/${id}/thumbnail` : `/api/uploads/${id}`;
    return `${path}?exp=${exp}&sig=${this.sign(id, variant, String(exp)).toString()}`;
  }

  private sign(id: string, variant: Variant, exp: string): Buffer {
    return Buffer.from(
      createHmac('sha256', this.key).update(`${id}\n${variant}\n${exp}`).digest('base64url'),
    );
  }
}
