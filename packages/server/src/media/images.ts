import { open, rm } from 'node:fs/promises';
import type Sharp from 'sharp';

/** An image whose header declares more pixels than this is never decoded: it is kept as a file. */
export const MAX_IMAGE_PIXELS = 100_000_000;
/** A thumbnail's longest side. */
export const THUMBNAIL_SIDE = 320;
/** Decodes at once per process: each may take tens of megabytes. */
const DECODES_AT_ONCE = 2;

/**
 * sharp (libvips) is loaded at the first image, not at start: it adds 28 MiB of resident memory
 * that a server nobody sends an image to never needs. An install whose sharp cannot load (its
 * native part missing for this platform) keeps every image as a file, without a thumbnail, and
 * says so once through `unavailable`.
 */
let loading: Promise<typeof Sharp | undefined> | undefined;
const loadSharp = (unavailable: (err: unknown) => void) =>
  (loading ??= import('sharp').then(
    ({ default: sharp }) => {
      // A server decodes each image once: libvips' cache of operations would only hold memory.
      sharp.cache(false);
      return sharp;
    },
    (err: unknown) => {
      unavailable(err);
      return undefined;
    },
  ));

/** What the bytes say an upload is. */
export type Inspection =
  { kind: 'image'; mime: string; width: number; height: number } | { kind: 'file' };

/**
 * The formats shown inline, by their magic numbers (never by name or declared type). SVG is not
 * among them (it is a document that can hold script), nor is anything a browser does not render
 * as an `<img>`.
 */
const FORMATS: { mime: string; sharp: string; matches: (head: Buffer) => boolean }[] = [
  {
    mime: 'image/jpeg',
    sharp: 'jpeg',
    matches: (h) => h[0] === 0xff && h[1] === 0xd8 && h[2] === 0xff,
  },
  {
    mime: 'image/png',
    sharp: 'png',
    matches: (h) => h.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 13, 10, 26, 10])),
  },
  {
    mime: 'image/gif',
    sharp: 'gif',
    matches: (h) => ['GIF87a', 'GIF89a'].includes(h.subarray(0, 6).toString('latin1')),
  },
  {
    mime: 'image/webp',
    sharp: 'webp',
    matches: (h) =>
      h.subarray(0, 4).toString('latin1') === 'RIFF' &&
      h.subarray(8, 12).toString('latin1') === 'WEBP',
  },
  {
    mime: 'image/avif',
    sharp: 'heif',
    matches: (h) =>
      h.subarray(4, 8).toString('latin1') === 'ftyp' &&
      ['avif', 'avis'].includes(h.subarray(8, 12).toString('latin1')),
  },
];

let decoding = 0;
const waiting: (() => void)[] = [];
async function decodeSlot<T>(work: () => Promise<T>): Promise<T> {
  if (decoding >= DECODES_AT_ONCE) await new Promise<void>((resolve) => waiting.push(resolve));
  decoding++;
  try {
    return await work();
  } finally {
    decoding--;
    waiting.shift()?.();
  }
}

async function head(file: string): Promise<Buffer> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(32);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/**
 * Reads what `file` is from its bytes. An image gets a thumbnail written to `thumbnail` (WebP, at
 * most 320 px a side, orientation applied, no metadata: no GPS position, no camera serial). The
 * header is read first, undecoded: one that declares more than MAX_IMAGE_PIXELS is a file (a
 * decompression bomb is a few kilobytes that declare gigabytes). Bytes that begin like an image
 * but do not decode are a file too.
 */
export async function inspect(
  file: string,
  thumbnail: string,
  unavailable: (err: unknown) => void = () => {},
): Promise<Inspection> {
  const bytes = await head(file);
  const known = FORMATS.find((f) => f.matches(bytes));
  if (!known) return { kind: 'file' };
  const sharp = await loadSharp(unavailable);
  if (!sharp) return { kind: 'file' };
  let width: number;
  let height: number;
  try {
    // Header only: no pixel is decoded, so no limit is needed (and sharp's would refuse to say).
    const meta = await sharp(file, { limitInputPixels: false }).metadata();
    if (meta.format !== known.sharp || !meta.width || !meta.height) return { kind: 'file' };
    if (known.sharp === 'heif' && meta.compression !== 'av1') return { kind: 'file' };
    if (meta.width * meta.height > MAX_IMAGE_PIXELS) return { kind: 'file' };
    width = meta.autoOrient.width;
    height = meta.autoOrient.height;
  } catch {
    return { kind: 'file' };
  }
  try {
    await decodeSlot(() =>
      sharp(file, { limitInputPixels: MAX_IMAGE_PIXELS, failOn: 'error', sequentialRead: true })
        .autoOrient()
        .resize(THUMBNAIL_SIDE, THUMBNAIL_SIDE, { fit: 'inside', withoutEnlargement: true })
        .webp({ quality: 80 })
        .toFile(thumbnail),
    );
  } catch {
    await rm(thumbnail, { force: true });
    return { kind: 'file' };
  }
  return { kind: 'image', mime: known.mime, width, height };
}
