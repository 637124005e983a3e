/**
 * File helpers for Node-like runtimes (Node, Deno, Bun): writes are atomic (a temporary file in the same folder,
 * flushed, then renamed over the target), so a crash or a kill at any moment never leaves a half-written file and
 * never destroys the previous version. Not imported by the browser-facing modules.
 */
import { open, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Writes `bytes` to `path` atomically. The folder must exist. */
export async function writeFileAtomic(path: string, bytes: Uint8Array | string): Promise<void> {
  const folder = dirname(path);
  const info = await stat(folder).catch(() => null);
  if (!info?.isDirectory()) throw new Error(`cannot write ${path}: the folder ${folder} does not exist`);
  const temporary = join(folder, `.${basename(path)}.${process.pid}.tmp`);
  const handle = await open(temporary, 'w');
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/** Reads a whole file, with an error that names it when it is missing or unreadable. */
export async function readFileBytes(path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder' : code === 'EACCES' ? 'permission denied' : String(error);
    throw new Error(`cannot read ${path}: ${why}`);
  }
}
