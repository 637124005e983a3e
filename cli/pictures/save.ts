/**
 * Writing pictures: atomically (a crash never leaves half a PNG), and only under a name whose extension matches
 * the bytes, so that `samples.gif` is never a PNG in disguise.
 */
import { extname } from 'node:path';
import { writeFileAtomic } from '../../bindings/io/files.ts';

/** The picture formats this module writes. */
export type PictureFormat = 'png' | 'gif' | 'webp';

const EXTENSIONS: Record<PictureFormat, readonly string[]> = { png: ['.png'], gif: ['.gif'], webp: ['.webp'] };

/** Writes picture bytes to `path` atomically; the folder must exist and the extension match the format. */
export async function savePicture(path: string, bytes: Uint8Array): Promise<void> {
  const format = pictureFormat(bytes);
  if (format === null) throw new Error(`cannot save ${path}: the bytes are not a PNG, GIF or WebP picture`);
  if (!EXTENSIONS[format].includes(extname(path).toLowerCase())) {
    throw new Error(`cannot save a ${format.toUpperCase()} picture as ${path}: name it ${EXTENSIONS[format].join(' or ')}`);
  }
  await writeFileAtomic(path, bytes);
}

/** The format of picture bytes, from their signature, or null when it is none of PNG, GIF, WebP. */
export function pictureFormat(bytes: Uint8Array): PictureFormat | null {
  const ascii = (from: number, to: number) => String.fromCharCode(...bytes.subarray(from, to));
  if (bytes[0] === 0x89 && ascii(1, 4) === 'PNG') return 'png';
  if (ascii(0, 4) === 'GIF8') return 'gif';
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'webp';
  return null;
}
