/**
 * The allocator for WebAssembly linear memory. The kernels take raw pointers and allocate nothing; every tensor's
 * storage comes from here. First fit over an address-ordered free list with coalescing, 64-byte aligned blocks
 * (a cache line, and v128-aligned), growing the memory when nothing fits. Allocation is a pure function of the
 * sequence of calls, so a training step that allocates and frees the same sizes every step stops growing after
 * the first one.
 *
 * WebAssembly memory grows but never shrinks: after a failed (out-of-memory) call the blocks are free again and
 * the next call reuses them, but the process keeps the pages. `setMemoryLimit` caps the growth below wasm32's
 * 4 GiB, for a page or a server that wants to bound what one instance may take.
 */
import { wasm } from './instance.ts';

const ALIGN = 64;
const PAGE = 65536;
/** wasm32 addresses 4 GiB at most. */
export const WASM32_MAX_BYTES = 4 * 1024 * 1024 * 1024;

const MiB = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

interface Block { start: number; size: number }

/**
 * Thrown when an allocation does not fit: `requestedBytes` were asked for, `liveBytes` were in use and the memory
 * could not grow past `limitBytes`. Callers that know what the size came from (a batch size, a model) add it to
 * the message with `withHint`.
 */
export class OutOfMemoryError extends Error {
  constructor(message: string, readonly requestedBytes: number, readonly liveBytes: number, readonly limitBytes: number) {
    super(message);
    this.name = 'OutOfMemoryError';
  }

  /** The same error with `context` before the message and `hint` (what to lower) after it. */
  withHint(context: string, hint: string): OutOfMemoryError {
    return new OutOfMemoryError(`${context}: ${this.message}; ${hint}`, this.requestedBytes, this.liveBytes, this.limitBytes);
  }
}

class Allocator {
  private free: Block[] = [];
  private live = new Map<number, number>();
  private heapEnd = 0;
  private limit = WASM32_MAX_BYTES;
  liveBytes = 0;
  peakBytes = 0;

  /** Returns the address of `bytes` bytes (uninitialised), 64-byte aligned. */
  alloc(bytes: number): number {
    if (this.heapEnd === 0) this.start();
    const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    let index = this.free.findIndex((block) => block.size >= size);
    if (index < 0) index = this.grow(size);
    const block = this.free[index];
    const start = block.start;
    if (block.size === size) this.free.splice(index, 1);
    else { block.start += size; block.size -= size; }
    this.live.set(start, size);
    this.liveBytes += size;
    this.peakBytes = Math.max(this.peakBytes, this.liveBytes);
    return start;
  }

  /** Returns a block to the free list, merging it with free neighbours. */
  release(start: number): void {
    const size = this.live.get(start);
    if (size === undefined) throw new Error(`ddpm-wasm: internal error: freeing address ${start}, which is not allocated`);
    this.live.delete(start);
    this.liveBytes -= size;
    let lo = 0, hi = this.free.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.free[mid].start < start) lo = mid + 1; else hi = mid;
    }
    const prev = this.free[lo - 1], next = this.free[lo];
    if (prev && prev.start + prev.size === start) {
      prev.size += size;
      if (next && start + size === next.start) { prev.size += next.size; this.free.splice(lo, 1); }
    } else if (next && start + size === next.start) {
      next.start = start; next.size += size;
    } else {
      this.free.splice(lo, 0, { start, size });
    }
  }

  /** Bytes of linear memory the allocator manages (the heap, free or not). */
  get heapBytes(): number { return this.heapEnd; }

  /** The most the memory may grow to (bytes). */
  get limitBytes(): number { return this.limit; }

  /** Caps the memory's growth at `bytes` (rounded down to 64 KiB pages; null: wasm32's 4 GiB). */
  setLimit(bytes: number | null): void {
    if (bytes !== null && !(Number.isSafeInteger(bytes) && bytes >= PAGE)) {
      throw new Error(`setMemoryLimit: the limit must be null or a whole number of bytes >= ${PAGE}, got ${bytes}`);
    }
    this.limit = bytes === null ? WASM32_MAX_BYTES : Math.min(WASM32_MAX_BYTES, Math.floor(bytes / PAGE) * PAGE);
  }

  /** Starts a new peak measurement: peakBytes becomes the bytes live now. */
  resetPeak(): void {
    this.peakBytes = this.liveBytes;
  }

  private start(): void {
    const core = wasm();
    const base = Math.ceil(core.heapBase() / ALIGN) * ALIGN;
    this.heapEnd = core.memory.buffer.byteLength;
    if (this.heapEnd > base) this.free.push({ start: base, size: this.heapEnd - base });
  }

  /** Grows the memory so that the last free block can hold `size` bytes; returns that block's index. */
  private grow(size: number): number {
    const last = this.free[this.free.length - 1];
    const tailFree = last && last.start + last.size === this.heapEnd ? last.size : 0;
    const pages = Math.ceil((size - tailFree) / PAGE);
    const memory = wasm().memory;
    const target = this.heapEnd + pages * PAGE;
    if (target > this.limit) this.outOfMemory(size, this.limit === WASM32_MAX_BYTES
      ? `the WebAssembly memory cannot grow past ${MiB(this.limit)}, the most wasm32 addresses`
      : `the WebAssembly memory may not grow past ${MiB(this.limit)}, the limit set with setMemoryLimit`);
    try {
      memory.grow(pages);
    } catch {
      this.outOfMemory(size, `the engine refused to grow the WebAssembly memory from ${MiB(this.heapEnd)} to ${MiB(target)}`);
    }
    const added = memory.buffer.byteLength - this.heapEnd;
    if (tailFree > 0) last.size += added;
    else this.free.push({ start: this.heapEnd, size: added });
    this.heapEnd += added;
    return this.free.length - 1;
  }

  private outOfMemory(size: number, why: string): never {
    const largestFree = this.free.reduce((most, block) => Math.max(most, block.size), 0);
    throw new OutOfMemoryError(`out of memory: ${MiB(size)} were asked for, ${MiB(this.liveBytes)} are in use ` +
      `(the largest free block holds ${MiB(largestFree)}), and ${why}`, size, this.liveBytes, this.limit);
  }
}

export const allocator = new Allocator();
