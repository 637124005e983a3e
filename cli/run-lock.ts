/**
 * One run per folder: `ddpm train` holds `<out>/train.lock` for the run's whole life, a file created
 * exclusively (O_EXCL) that names the process. A second run into the same folder is refused with the holder's
 * pid. A lock whose process is gone (killed, or the machine restarted) is stale: the next run takes it over and
 * says so. On Linux the lock also records when its process started, so a pid reused by an unrelated process
 * does not keep a dead run's folder locked. The lock is removed when the run ends, on any exit path that runs
 * JavaScript (normal end, error, Ctrl-C twice, SIGTERM, SIGHUP); only SIGKILL leaves it, stale.
 *
 * Creating the lock is also the first write into the folder, so a read-only folder is refused here, before
 * any training starts.
 */
import { closeSync, fsyncSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileErrorReason, isProcessAlive } from '../bindings/io/files.ts';
import { fail } from './errors.ts';

export const LOCK_FILE = 'train.lock';

/** What a lock file says about its holder. */
interface Holder {
  pid: number;
  host: string;
  /** When the run started (ISO time), for messages. */
  started: string;
  /** The process's start time in clock ticks since boot (Linux), or null. */
  processStart: string | null;
}

export class RunLock {
  private released = false;
  private readonly onExit = () => this.release();

  private constructor(readonly path: string) {
    process.on('exit', this.onExit);
  }

  /**
   * Takes the lock of `folder` (shown as `shownFolder` in messages), taking over a stale one (with a notice
   * through `say`); fails, naming the holder, when a running process holds it.
   */
  static acquire(folder: string, shownFolder: string, say: (line: string) => void): RunLock {
    const path = join(folder, LOCK_FILE);
    const shownPath = join(shownFolder, LOCK_FILE);
    for (let attempt = 0; attempt < 3; attempt++) {
      const me: Holder = { pid: process.pid, host: hostname(), started: new Date().toISOString(), processStart: processStart(process.pid) };
      let fd: number;
      try {
        fd = openSync(path, 'wx');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') fail(`--out ${shownFolder}: cannot write in this folder: ${fileErrorReason(error)}`);
        const text = readText(path);
        if (text === null) continue; // removed meanwhile: try again
        const holder = parse(text);
        if (holder && holder.host !== me.host) {
          fail(`--out ${shownFolder} is locked by process ${holder.pid} on host ${holder.host} (${shownPath}); if no run is using the folder, delete that file`);
        }
        if (holder && isRunning(holder)) {
          fail(`--out ${shownFolder} is in use by another run: process ${holder.pid}, started ${holder.started}, holds ${shownPath}; ` +
            'wait for it to finish, stop it, or choose another folder');
        }
        say(`--out ${shownFolder}: taking over ${shownPath} from ${holder ? `process ${holder.pid}, which is no longer running` : 'a run that stopped while creating it'}`);
        // Remove it only if it is still the stale lock just read (another run may have taken it over meanwhile).
        if (readText(path) === text) removeQuietly(path);
        continue;
      }
      try {
        writeSync(fd, `${JSON.stringify(me)}\n`);
        fsyncSync(fd);
      } catch (error) {
        closeSync(fd);
        removeQuietly(path);
        fail(`--out ${shownFolder}: cannot write ${shownPath}: ${fileErrorReason(error)}`);
      }
      closeSync(fd);
      return new RunLock(path);
    }
    return fail(`--out ${shownFolder}: could not take ${shownPath}: other runs keep taking it`);
  }

  /** Removes the lock file, if it is still this process's. Safe to call twice. */
  release(): void {
    if (this.released) return;
    this.released = true;
    process.off('exit', this.onExit);
    const holder = parse(readText(this.path) ?? '');
    if (holder?.pid === process.pid) removeQuietly(this.path);
  }
}

/** Whether the holder's process still runs (and is the same process, where its start time can be read). */
function isRunning(holder: Holder): boolean {
  if (!isProcessAlive(holder.pid)) return false;
  const now = processStart(holder.pid);
  return holder.processStart === null || now === null || now === holder.processStart;
}

/** Field 22 of /proc/<pid>/stat: the process's start time in clock ticks after boot; null off Linux. */
function processStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

function parse(text: string): Holder | null {
  try {
    const holder = JSON.parse(text);
    return Number.isSafeInteger(holder?.pid) && typeof holder.host === 'string' ? { processStart: null, started: '?', ...holder } : null;
  } catch {
    return null;
  }
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}
