/**
 * File helpers for Node-like runtimes (Node, Deno, Bun): writes are atomic (a temporary file in the same folder,
 * flushed, then renamed over the target), so a crash or a kill at any moment never leaves a half-written file and
 * never destroys the previous version. A failed write removes its temporary file and says, in one line, which
 * file and why (a full disk, a read-only file system, permissions). Temporary files are named
 * `.<name>.<pid>.tmp`, so the ones a killed process left behind can be recognised and removed later.
 * Not imported by the browser-facing modules.
 */
import { open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** The temporary files of atomic writes: `.<name>.<pid>.tmp`. */
const TEMPORARY = /^\..+\.(\d+)\.tmp$/;

/** The temporary name `writeFileAtomic` uses for `path` in this process. */
export function temporaryPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
}

/** Writes `bytes` to `path` atomically. The folder must exist. */
export async function writeFileAtomic(path: string, bytes: Uint8Array | string): Promise<void> {
  const folder = dirname(path);
  const info = await stat(folder).catch(() => null);
  if (!info?.isDirectory()) throw new Error(`cannot write ${path}: the folder ${folder} does not exist`);
  const temporary = temporaryPath(path);
  try {
    const handle = await open(temporary, 'w');
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true }).catch(() => {});
    throw new Error(`cannot write ${path}: ${fileErrorReason(error)}; ${path} was left as it was`);
  }
}

/** Reads a whole file, with an error that names it when it is missing or unreadable. */
export async function readFileBytes(path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder' : code === 'EACCES' ? 'permission denied' : fileErrorReason(error);
    throw new Error(`cannot read ${path}: ${why}`);
  }
}

/** Why a file operation failed, in words (with the system's code), from a Node error. */
export function fileErrorReason(error: unknown): string {
  const { code, message } = error as NodeJS.ErrnoException;
  switch (code) {
    case 'ENOSPC': return 'no space left on the device (ENOSPC)';
    case 'EDQUOT': return 'the disk quota is used up (EDQUOT)';
    case 'EROFS': return 'the file system is read-only (EROFS)';
    case 'EACCES': case 'EPERM': return `permission denied (${code})`;
    case 'ENOENT': return 'a folder on the way does not exist (ENOENT)';
    case 'EISDIR': return 'it is a folder (EISDIR)';
    case 'ENOTDIR': return 'a part of the path is not a folder (ENOTDIR)';
    case 'EMFILE': case 'ENFILE': return `too many open files (${code})`;
    case 'EIO': return 'an input/output error of the device (EIO)';
    default: return code ? `${code} (${String(message).split('\n')[0]})` : String(message ?? error).split('\n')[0];
  }
}

/** Whether a process with this id is running (on this machine). */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the temporary files that writes of processes no longer running left in `folder` (a kill or a full
 * disk mid-write); returns their names. Files of running processes (and of this one) are kept.
 */
export async function removeStaleTemporaries(folder: string): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(folder)) {
    const pid = Number(TEMPORARY.exec(name)?.[1]);
    if (!pid || pid === process.pid || isProcessAlive(pid)) continue;
    await rm(join(folder, name), { force: true });
    removed.push(name);
  }
  return removed;
}
