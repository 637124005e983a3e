/**
 * A .npy file written as its data arrives, for results too large to hold at once (100,000 sampled images): the
 * header for the final shape first, then the values batch by batch, into a temporary file that is flushed and
 * renamed over the target at the end, as `writeFileAtomic` does. Until then the target is untouched; a failure
 * or `abort()` removes the temporary file. Node-like runtimes only.
 */
import { rmSync } from 'node:fs';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { fileErrorReason, temporaryPath } from './files.ts';
import { npyHeaderBytes } from './npy.ts';

const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

export class NpyFileWriter {
  private written = 0;
  private closed = false;

  private constructor(readonly path: string, private readonly temporary: string, private readonly handle: FileHandle, readonly count: number) {}

  /** Starts writing a float32 array of `shape` to `path` (whose folder must exist). */
  static async create(path: string, shape: readonly number[]): Promise<NpyFileWriter> {
    const header = npyHeaderBytes(shape);
    const temporary = temporaryPath(path);
    let handle: FileHandle | null = null;
    try {
      handle = await open(temporary, 'w');
      await handle.writeFile(header); // writeFile writes it all, at the current position
    } catch (error) {
      await handle?.close().catch(() => {});
      await rm(temporary, { force: true }).catch(() => {});
      throw new Error(`cannot write ${path}: ${fileErrorReason(error)}`);
    }
    return new NpyFileWriter(path, temporary, handle, shape.reduce((a, b) => a * b, 1));
  }

  /** Appends the next values (C order). */
  async append(values: Float32Array): Promise<void> {
    if (this.closed) throw new Error(`npy: ${this.path} is already finished or aborted`);
    if (this.written + values.length > this.count) {
      throw new Error(`npy: ${this.path} holds ${this.count} values; appending ${values.length} after ${this.written} would overflow it`);
    }
    const bytes = LITTLE_ENDIAN ? new Uint8Array(values.buffer, values.byteOffset, values.byteLength) : littleEndian(values);
    await this.guard(() => this.handle.writeFile(bytes));
    this.written += values.length;
  }

  /** Flushes and moves the file into place; every value must have been written. */
  async finish(): Promise<void> {
    if (this.written !== this.count) throw new Error(`npy: ${this.path} received ${this.written} of its ${this.count} values`);
    await this.guard(async () => {
      await this.handle.sync();
      await this.handle.close();
      this.closed = true;
      await rename(this.temporary, this.path);
    });
  }

  /** Gives up: removes the temporary file (the target is untouched). Synchronous, so a signal handler can call it. */
  abortSync(): void {
    if (!this.closed) {
      this.closed = true;
      void this.handle.close().catch(() => {});
    }
    rmSync(this.temporary, { force: true });
  }

  /** Runs a write; on failure removes the temporary file and names the file and the cause. */
  private async guard(write: () => Promise<unknown>): Promise<void> {
    try {
      await write();
    } catch (error) {
      this.abortSync();
      throw new Error(`cannot write ${this.path}: ${fileErrorReason(error)}; ${this.path} was left as it was`);
    }
  }
}

function littleEndian(values: Float32Array): Uint8Array {
  const out = new Uint8Array(values.byteLength);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i], true);
  return out;
}
