/**
 * A dataset from a folder of pictures (Node, Deno and Bun; decoded with sharp): PNG, JPEG and WebP files,
 * centre-cropped to a square (cover), resized to imageSize x imageSize, mapped to [-1, 1] and stored NCHW.
 *
 *   folder/a.png, folder/b.jpg, ...          unlabelled
 *   folder/cats/1.png, folder/dogs/2.webp    labelled: one class per sub-folder, in sorted order of the names
 *
 * Files are taken in sorted order of their paths (by code unit, not locale), so the dataset, and every run
 * trained on it, is the same on every machine. Transparent pictures are flattened onto white. Hidden files,
 * other files, sub-folders without pictures and deeper folders are ignored; symbolic links are followed.
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import type { default as Sharp } from 'sharp';
import { ArrayDataset } from './dataset.ts';
import { requireOptional } from './optional-package.ts';

export interface ImageFolderOptions {
  /** Side of the square images, in pixels (a positive integer). */
  imageSize: number;
  /** 1 (grey) or 3 (RGB). Default 3. */
  channels?: number;
  /** Called with one line per picture that cannot be decoded (it is skipped). Default console.warn. */
  onWarning?: (message: string) => void;
}

/** Extensions read, in lower case (matched case-insensitively). */
export const IMAGE_EXTENSIONS: readonly string[] = ['.png', '.jpg', '.jpeg', '.webp'];

/** How many pictures are decoded at once (sharp decodes on libuv's thread pool). */
const CONCURRENCY = 4;

/** Reads the pictures under `path` into an in-memory dataset; see the file's comment for the layout. */
export async function imageFolderDataset(path: string, options: ImageFolderOptions): Promise<ArrayDataset> {
  const { imageSize, channels = 3, onWarning = (message: string) => console.warn(message) } = options;
  if (!Number.isInteger(imageSize) || imageSize <= 0) throw new Error(`imageFolderDataset: imageSize must be a positive integer, got ${imageSize}`);
  if (channels !== 1 && channels !== 3) throw new Error(`imageFolderDataset: channels must be 1 (grey) or 3 (RGB), got ${channels}`);

  const { files, labels, classNames } = await listPictures(path);
  const sharp = requireOptional<typeof Sharp>('sharp', 'imageFolderDataset');
  const size = channels * imageSize * imageSize;
  const decoded = await mapLimited(files, CONCURRENCY, (file) => decodePicture(sharp, file, imageSize, channels as 1 | 3).catch((error: Error) => {
    onWarning(`imageFolderDataset: skipped ${file}: it cannot be decoded (${error.message.trim().replace(/\s*\n\s*/g, '; ')})`);
    return null;
  }));
  const kept = decoded.flatMap((pixels, i) => (pixels ? [i] : []));
  if (kept.length === 0) throw new Error(`imageFolderDataset: ${path}: none of its ${files.length} pictures could be decoded`);

  const data = new Float32Array(kept.length * size);
  kept.forEach((i, n) => data.set(decoded[i]!, n * size));
  const keptLabels = labels ? Int32Array.from(kept, (i) => labels[i]) : null;
  const missing = classNames.filter((_, k) => keptLabels && !keptLabels.includes(k));
  if (missing.length > 0) onWarning(`imageFolderDataset: ${path}: no picture of class ${missing.join(', ')} could be decoded`);
  return new ArrayDataset(basename(path) || path, data, [channels, imageSize, imageSize], keptLabels, classNames);
}

interface Listing {
  files: string[];
  /** The class of each file (null when the folder has no class sub-folders). */
  labels: Int32Array | null;
  classNames: string[];
}

/** The pictures under `path`: directly inside, or one level down in class sub-folders (not both). */
async function listPictures(path: string): Promise<Listing> {
  const entries = await readFolder(path);
  const pictures = entries.filter((e) => e.kind === 'file' && isPicture(e.name)).map((e) => join(path, e.name)).sort(byCodeUnit);
  const folders = entries.filter((e) => e.kind === 'folder' && !e.name.startsWith('.')).map((e) => e.name).sort(byCodeUnit);
  const classes: { name: string; files: string[] }[] = [];
  for (const name of folders) {
    const inside = (await readFolder(join(path, name))).filter((e) => e.kind === 'file' && isPicture(e.name));
    if (inside.length > 0) classes.push({ name, files: inside.map((e) => join(path, name, e.name)).sort(byCodeUnit) });
  }
  if (classes.length > 0 && pictures.length > 0) {
    const examples = pictures.slice(0, 3).map((p) => basename(p)).join(', ') + (pictures.length > 3 ? ', ...' : '');
    const names = classes.map((c) => c.name).join(', ');
    throw new Error(`imageFolderDataset: ${path} has both pictures at its top level (${examples}) and class sub-folders (${names}): `
      + 'move the top-level pictures into a sub-folder, or remove them');
  }
  if (classes.length > 0) {
    return {
      files: classes.flatMap((c) => c.files),
      labels: Int32Array.from(classes.flatMap((c, k) => c.files.map(() => k))),
      classNames: classes.map((c) => c.name),
    };
  }
  if (pictures.length === 0) {
    const accepted = IMAGE_EXTENSIONS.join(', ');
    throw new Error(`imageFolderDataset: ${path} holds no pictures (accepted: ${accepted}, in the folder itself or in one sub-folder per class)`);
  }
  return { files: pictures, labels: null, classNames: [] };
}

/** A folder's entries as files and folders (symbolic links followed), with an error that says why it cannot be read. */
async function readFolder(path: string): Promise<{ name: string; kind: 'file' | 'folder' | 'other' }[]> {
  let entries;
  try {
    entries = await readdir(path, { withFileTypes: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such folder' : code === 'ENOTDIR' ? 'it is not a folder' : code === 'EACCES' ? 'permission denied' : String(error);
    throw new Error(`imageFolderDataset: cannot read the folder ${path}: ${why}`);
  }
  return Promise.all(entries.map(async (e) => {
    const target = e.isSymbolicLink() ? await stat(join(path, e.name)).catch(() => null) : e;
    return { name: e.name, kind: target?.isFile() ? 'file' : target?.isDirectory() ? 'folder' : 'other' } as const;
  }));
}

function isPicture(name: string): boolean {
  return !name.startsWith('.') && IMAGE_EXTENSIONS.includes(extname(name).toLowerCase());
}

/** Sorts by UTF-16 code units: the same order everywhere, unlike localeCompare. */
function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** One picture as [C, S, S] values in [-1, 1]: EXIF-rotated, flattened onto white, cover-cropped and resized. */
async function decodePicture(sharp: typeof Sharp, file: string, imageSize: number, channels: 1 | 3): Promise<Float32Array> {
  let image = sharp(file, { failOn: 'error' }).rotate().flatten({ background: '#ffffff' })
    .resize(imageSize, imageSize, { fit: 'cover', position: 'centre' });
  image = channels === 1 ? image.toColourspace('b-w') : image.toColourspace('srgb');
  const { data, info } = await image.raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== channels || info.width !== imageSize || info.height !== imageSize) {
    throw new Error(`decoded to ${info.width} x ${info.height} x ${info.channels}, expected ${imageSize} x ${imageSize} x ${channels}`);
  }
  // Interleaved HWC bytes to planar CHW values: byte b becomes b / 127.5 - 1 (0 -> -1, 255 -> 1).
  const plane = imageSize * imageSize;
  const out = new Float32Array(channels * plane);
  for (let p = 0; p < plane; p++) for (let c = 0; c < channels; c++) out[c * plane + p] = data[p * channels + c] / 127.5 - 1;
  return out;
}

/** `fn` over `items` with at most `limit` calls in flight; results in the order of `items`. */
async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
