/**
 * The allocator for WebAssembly linear memory. The kernels take raw pointers and allocate nothing; every tensor's
 * storage comes from here. First fit over an address-ordered free list with coalescing, 64-byte aligned blocks
 * (a cache line, and v128-aligned), growing the memory when nothing fits. Allocation is a pure function of the
 * sequence of calls, so a training step that allocates and frees the same sizes every step stops growing after
 * the first one.
 */
import { wasm } from './instance.ts';

const ALIGN = 64;
const PAGE = 65536;

interface Block { start: number; size: number }

class Allocator {
  private free: Block[] = [];
  private live = new Map<number, number>();
  private heapEnd = 0;
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
    try {
      memory.grow(pages);
    } catch {
      const inUse = (this.liveBytes / 2 ** 20).toFixed(1);
      throw new Error(`ddpm-wasm: out of memory: could not grow WebAssembly memory by ${pages * PAGE / 2 ** 20} MiB ` +
        `to allocate ${(size / 2 ** 20).toFixed(1)} MiB (${inUse} MiB in use); dispose tensors you no longer need, or use tidy()`);
    }
    const added = memory.buffer.byteLength - this.heapEnd;
    if (tailFree > 0) last.size += added;
    else this.free.push({ start: this.heapEnd, size: added });
    this.heapEnd += added;
    return this.free.length - 1;
  }
}

export const allocator = new Allocator();
